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

It also mends one thing in the panel's server side, ipyparallel 9.2's ``ClusterManager``: once the panel has
listed a profile with no cluster running, the manager keeps that stopped ``default`` entry in memory and then
skips the profile's cluster file when another process writes one (``course cluster start`` in a terminal,
``ipcluster start``), so the panel went on showing the running course cluster as stopped, and its START
started a second controller over the first one's connection file.  :class:`CourseClusterManager` drops such a
placeholder when its cluster file appears, before ipyparallel's own ``load_clusters`` runs; it replaces the
manager ipyparallel's extension made, once the server's event loop starts (every extension is loaded by then).

Enabled by ``jupyter-config/jupyter_server_config.d/going-parallel.json``, which installing the project puts in
``<prefix>/etc/jupyter/jupyter_server_config.d/``; ``jupyter server extension list`` shows it.
"""

from __future__ import annotations

import os

from ipyparallel.cluster import ClusterManager


class CourseClusterManager(ClusterManager):
    """ipyparallel's ClusterManager, which also sees a cluster file written after it listed the profile."""

    def load_clusters(self, **kwargs):
        for key, cluster in list(self.clusters.items()):
            # a stopped placeholder (never started here) whose cluster file another process has written since
            if cluster.controller is None and not cluster.engines and os.path.exists(cluster.cluster_file):
                self.log.info(f"going-parallel: {key} was started elsewhere; loading it from {cluster.cluster_file}")
                del self.clusters[key]
        return super().load_clusters(**kwargs)


def _replace_cluster_manager(serverapp) -> None:
    settings = serverapp.web_app.settings
    if type(settings.get("cluster_manager")) is ClusterManager:  # ipyparallel's extension is loaded, unchanged
        settings["cluster_manager"] = CourseClusterManager(parent=serverapp)


def _jupyter_server_extension_points():
    return [{"module": "course.jupyter"}]


def _load_jupyter_server_extension(serverapp) -> None:
    from procbox import ippcluster
    from procbox.cluster import profile_dir_for

    # extensions load in alphabetical order, ipyparallel's after this one: replace its manager once all are loaded
    serverapp.io_loop.add_callback(_replace_cluster_manager, serverapp)
    profile_dir = profile_dir_for(None, "default")
    try:
        path = ippcluster.install_profile("local", profile_dir, replace_course_profile=False)
    except OSError as e:  # a read-only IPYTHONDIR: the panel still works, with ipyparallel's defaults
        serverapp.log.warning(f"going-parallel: could not install the course's ipcluster profile: {e}")
        return
    serverapp.log.info(f"going-parallel: JupyterLab's IPython Parallel panel starts clusters with {path}")
