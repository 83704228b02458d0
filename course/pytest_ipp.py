"""A pytest plugin for notebooks that use ipyparallel: each runs in a fresh kernel against a fresh cluster.

Installed with the project (the ``pytest11`` entry point ``ipp_notebooks``)::

    pytest --ipp-notebooks notebooks/ examples/Monte-Carlo.ipynb
    pytest --ipp-notebooks --ipp-engines 2 --ipp-timeout 120 -n 2 notebooks/   # pytest-xdist works too

With ``--ipp-notebooks``, every ``.ipynb`` file given, or found under the folders given, is one test.  For each,
the plugin starts a controller and ``--ipp-engines`` engines (:class:`procbox.cluster.LocalCluster`, plain processes
tied to the test process) in an IPython directory of its own, so a bare ``ipp.Client()`` in the notebook connects to
them (``ipp.Client(profile=...)`` with ``--ipp-profile``), runs the notebook top to bottom with nbclient in a new
kernel (cells tagged ``raises-exception`` may fail; no other may), and stops everything it started: the kernel, the
cluster and whatever the notebook started (found by a token in their environment, not by name).  A failing cell is
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

import nbformat
import pytest

ANSI = re.compile(r"\x1b\[[0-9;]*[A-Za-z]")


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
        from nbclient import NotebookClient  # here, not at pytest's start: most sessions run no notebook

        from course.run_cells import CellRunError, run_cells
        from procbox.cluster import LocalCluster
        from procbox.processes import TOKEN_VAR, stop_carrying

        option = self.config.getoption
        nb = nbformat.read(self.path, as_version=4)
        token = uuid.uuid4().hex  # carried by the kernel and everything it starts
        with tempfile.TemporaryDirectory(prefix="ipp-notebook-") as tmp:
            cluster = LocalCluster(n=option("ipp_engines"), ipython_dir=Path(tmp) / "ipython",
                                   profile=option("ipp_profile"))
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

    def repr_failure(self, excinfo, style=None):
        if isinstance(excinfo.value, CellFailed):
            return excinfo.value.report()
        return super().repr_failure(excinfo, style=style)

    def reportinfo(self):
        return self.path, 0, f"notebook: {self.path.name}"
