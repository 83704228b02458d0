"""A pytest plugin for notebooks that use ipyparallel: each runs in a fresh kernel against a fresh cluster.

Installed with the project (the ``pytest11`` entry point ``ipp_notebooks``)::

    pytest --ipp-notebooks notebooks/ examples/Monte-Carlo.ipynb
    pytest --ipp-notebooks --ipp-engines 2 --ipp-timeout 120 -n 2 notebooks/   # pytest-xdist works too

With ``--ipp-notebooks``, every ``.ipynb`` file given, or found under the folders given, is one test. For each, the
plugin starts a controller and ``--ipp-engines`` engines in an IPython directory of its own, so a bare
``ipp.Client()`` in the notebook connects to them (``ipp.Client(profile=...)`` with ``--ipp-profile``), runs the
notebook top to bottom with nbclient in a new kernel (cells tagged ``raises-exception`` may fail; no other may), and
stops everything it started. Where the machine allows it (Linux, as root or with user namespaces; ``--ipp-sandbox
auto``, the default), the kernel and the cluster run in a sealed box of their own
(:class:`procbox.session.SealedSession`): their own uid and namespaces, the installation read-only, a copy of the
notebook's folder as their working directory (nothing they write reaches the folder), no network but their own
loopback and the course's n-gram mirror, and everything ends with the box. Elsewhere (or with ``--ipp-sandbox off``)
they are plain processes (:class:`procbox.cluster.LocalCluster`, tied to the test process) run in the notebook's
folder, and what the notebook started is found by a token in its environment, not by name; ``--ipp-sandbox on``
fails a notebook the machine cannot seal. The session's header says which.  A failing cell is
reported as nbclient reports it: the notebook, the cell's number and lines, and the traceback, which for a task that
failed on an engine is the engine's.

nbmake and nbval run notebooks but start no cluster; this plugin is what they are for notebooks that need engines.
"""

from __future__ import annotations

import os
import re
import sys
import tempfile
import uuid
from pathlib import Path

import pytest

ANSI = re.compile(r"\x1b\[[0-9;]*[A-Za-z]")
SEALING = pytest.StashKey[tuple]()  # this session's (box policy or None, why), worked out once


def pytest_addoption(parser: pytest.Parser) -> None:
    group = parser.getgroup("ipp-notebooks", "notebooks that use ipyparallel (course.pytest_ipp)")
    group.addoption("--ipp-notebooks", action="store_true", default=False,
                    help="collect the .ipynb files given, or found under the folders given, and run each in a fresh "
                         "kernel against a fresh ipyparallel cluster")
    group.addoption("--ipp-engines", type=int, default=4, metavar="N", help="engines per cluster (default: 4)")
    group.addoption("--ipp-timeout", type=float, default=300, metavar="SECONDS",
                    help="seconds one cell may run (default: 300)")
    group.addoption("--ipp-start-timeout", type=float, default=60, metavar="SECONDS",
                    help="seconds the cluster may take to start (default: 60)")
    group.addoption("--ipp-profile", default="default", metavar="NAME",
                    help="the IPython profile the cluster is started in (default: default)")
    group.addoption("--ipp-sandbox", choices=("auto", "on", "off"), default="auto",
                    help="run each notebook's kernel and cluster in a sealed box: where the machine allows it "
                         "(auto, the default), always (on: a notebook the machine cannot seal fails) or never (off)")


def sealing(config: pytest.Config):
    """The box policy notebooks run with (procbox.policy.BoxPolicy), or None for plain processes; and why."""
    if SEALING not in config.stash:
        if config.getoption("ipp_sandbox") == "off":
            config.stash[SEALING] = (None, "--ipp-sandbox off")
        else:
            from procbox.policy import BoxPolicy

            policy = BoxPolicy()
            config.stash[SEALING] = (policy, policy.mode) if policy.active else (None, policy.reason)
    return config.stash[SEALING]


def pytest_report_header(config: pytest.Config):
    if config.getoption("ipp_notebooks"):
        policy, why = sealing(config)
        return (f"ipp-notebooks: each notebook in a sealed box ({why})" if policy is not None else
                f"ipp-notebooks: plain processes, not sealed ({why})")
    return None


def pytest_collect_file(file_path: Path, parent: pytest.Collector):
    if parent.config.getoption("ipp_notebooks") and file_path.suffix == ".ipynb" \
            and ".ipynb_checkpoints" not in file_path.parts:
        return IppNotebookFile.from_parent(parent, path=file_path)
    return None


class IppNotebookFile(pytest.File):
    def collect(self):
        yield IppNotebook.from_parent(self, name=self.path.name)


class CellFailed(Exception):
    """A cell of ``notebook`` stopped its run (:class:`course.run_cells.CellRunError`)."""

    def __init__(self, notebook: Path, failure):
        super().__init__(f"{notebook}: cell {failure.index} failed")
        self.notebook, self.failure = notebook, failure

    def report(self) -> str:
        from nbclient.exceptions import DeadKernelError

        failure = self.failure
        lines = "\n".join(f"{n:>4} | {line}" for n, line in enumerate(failure.source.splitlines(), 1))
        error = f"the kernel died: {failure.cause}" if isinstance(failure.cause, DeadKernelError) else \
            failure.traceback
        return f"{self.notebook}: cell {failure.index} failed\n\n{lines}\n\n{ANSI.sub('', error).rstrip()}"


class IppNotebook(pytest.Item):
    """One notebook, run in a fresh kernel against a fresh cluster."""

    def runtest(self) -> None:
        import nbformat  # these here, not at pytest's start: the plugin loads in every pytest session of the
        from nbclient import NotebookClient  # environment, and most of them run no notebook

        from course.run_cells import CellRunError, run_cells
        from procbox.cluster import LocalCluster
        from procbox.processes import TOKEN_VAR, stop_carrying

        option = self.config.getoption
        nb = nbformat.read(self.path, as_version=4)
        policy, why = sealing(self.config)
        if policy is not None:
            return self._run_sealed(nb, policy)
        if option("ipp_sandbox") == "on":
            pytest.fail(f"{self.path}: --ipp-sandbox on, but this machine cannot seal a notebook: {why}",
                        pytrace=False)
        token = uuid.uuid4().hex  # carried by the kernel and everything it starts
        with tempfile.TemporaryDirectory(prefix="ipp-notebook-") as tmp:
            cluster = LocalCluster(n=option("ipp_engines"), ipython_dir=Path(tmp) / "ipython",
                                   profile=option("ipp_profile"), engine_cwd=self.path.parent)  # as the kernel
            try:
                cluster.start(timeout=option("ipp_start_timeout"))
                # the interpreter's own bin folder first, as in an activated environment (mpiexec, ipcluster)
                path = os.pathsep.join([str(Path(sys.executable).parent), os.environ.get("PATH", "")])
                env = dict(os.environ, IPYTHONDIR=str(cluster.ipython_dir), PATH=path, **{TOKEN_VAR: token})
                kernel = nb.metadata.get("kernelspec", {}).get("name") or "python3"
                client = NotebookClient(nb, timeout=int(option("ipp_timeout")), kernel_name=kernel,
                                        allow_errors=False, resources={"metadata": {"path": str(self.path.parent)}})
                try:
                    run_cells(client, env=env)
                except CellRunError as e:
                    raise CellFailed(self.path, e) from None
            finally:
                cluster.stop()
                stop_carrying(token)  # what the notebook started, however it detached

    def _run_sealed(self, nb, policy) -> None:
        from nbclient import NotebookClient

        from course.data import ENV_VAR, PATH_PREFIX
        from course.run_cells import CellRunError, run_cells
        from procbox.messages import Service
        from procbox.session import SealedSession

        option = self.config.getoption
        with SealedSession(self.path.parent, n=option("ipp_engines"), policy=policy, profile=option("ipp_profile"),
                           services=[Service("mirror", "course.data:box_mirror")],
                           env=lambda ports: {ENV_VAR: f"http://127.0.0.1:{ports['mirror']}{PATH_PREFIX}"},
                           start_timeout=option("ipp_start_timeout")) as session:
            client = NotebookClient(nb, km=session.km, timeout=int(option("ipp_timeout")), allow_errors=False)
            try:
                run_cells(client, cleanup_kc=True)  # the kernel the session started: its client closed here
            except CellRunError as e:
                raise CellFailed(self.path, e) from None

    def repr_failure(self, excinfo, style=None):
        if isinstance(excinfo.value, CellFailed):
            return excinfo.value.report()
        return super().repr_failure(excinfo, style=style)

    def reportinfo(self):
        return self.path, 0, f"notebook: {self.path.name}"
