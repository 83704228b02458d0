"""The course's Jupyter Server extension: JupyterLab's *IPython Parallel* panel starts the course's cluster.

The panel (ipyparallel's lab extension and its server handlers, ``/ipyparallel/clusters``) lists the clusters
of every IPython profile from their cluster files, and offers a ``default`` entry (profile ``default``, cluster
id ``""``) whose START starts ``ipyparallel.Cluster(profile_dir=..., cluster_id="")``, configured by the
profile's ``ipcluster_config.py``.  Without one, that is one engine per core, which the lessons (4 engines)
do not expect.  So when Jupyter Server starts, this extension copies the course's profile
(``procbox/profiles/local/ipcluster_config.py``: ``c.Cluster.n = 4`` and the rest) into ``profile_default`` of
the server's ``IPYTHONDIR``, unless that profile already has an ``ipcluster_config.py`` (the student's own, or
the course's for another launcher, are kept).  That is the file ``course cluster start`` uses too, and both
write the same cluster file, ``security/cluster-.json``, so the panel and ``course cluster`` see one cluster.

Enabled by ``jupyter-config/jupyter_server_config.d/going-parallel.json``, which installing the project puts in
``<prefix>/etc/jupyter/jupyter_server_config.d/``; ``jupyter server extension list`` shows it.
"""

from __future__ import annotations


def _jupyter_server_extension_points():
    return [{"module": "course.jupyter"}]


def _load_jupyter_server_extension(serverapp) -> None:
    from procbox import ippcluster
    from procbox.cluster import profile_dir_for

    profile_dir = profile_dir_for(None, "default")
    try:
        path = ippcluster.install_profile("local", profile_dir, replace_course_profile=False)
    except OSError as e:  # a read-only IPYTHONDIR: the panel still works, with ipyparallel's defaults
        serverapp.log.warning(f"going-parallel: could not install the course's ipcluster profile: {e}")
        return
    serverapp.log.info(f"going-parallel: JupyterLab's IPython Parallel panel starts clusters with {path}")
