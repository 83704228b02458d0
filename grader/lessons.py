"""Lessons run as any runner of notebooks runs them: a plain nbclient ``NotebookClient`` per lesson, against one
4-engine cluster and the n-gram mirror (``grader demo`` and ``grader book --execute`` both iterate
:func:`executed_lessons`)."""

from __future__ import annotations

import os
import tempfile
import time
import uuid
from collections.abc import Sequence
from pathlib import Path

import nbformat
from nbclient import NotebookClient
from nbclient.exceptions import DeadKernelError
from traitlets.config import Config

from course.data import ENV_VAR, start_mirror
from course.run_cells import CellRunError, run_cells
from procbox.cluster import LocalCluster
from procbox.processes import TOKEN_VAR, stop_carrying


class LessonError(RuntimeError):
    """A tutorial did not run to its end (its kernel died or stopped answering)."""


def execute_notebook(nb, *, cwd: Path, ipython_dir: Path, mirror_url: str, timeout: int = 300,
                     name: str = "the notebook"):
    """Execute a tutorial top to bottom in a new kernel (only cells tagged ``raises-exception`` may fail); return it.

    A plain nbclient ``NotebookClient``, as any runner of notebooks would use: a cell that fails raises nbclient's
    CellExecutionError (a cell over ``timeout`` seconds its CellTimeoutError); a kernel that dies raises
    :class:`LessonError` naming ``name`` and the cell.  Whatever the lesson started (its own clusters, their
    engines' nannies, which outlive a stopped engine for a moment) is stopped when it returns, found by a token the
    kernel and everything it starts carry.
    """
    token = uuid.uuid4().hex
    env = dict(os.environ, IPYTHONDIR=str(ipython_dir), **{ENV_VAR: mirror_url, TOKEN_VAR: token})
    with tempfile.TemporaryDirectory(prefix="lesson-") as sockets:
        # the kernel on ipc sockets, as the grader's: no "running over TCP without encryption" in the output
        config = Config({"KernelManager": {"transport": "ipc", "ip": str(Path(sockets) / "kernel")}})
        client = NotebookClient(nb, timeout=timeout, allow_errors=False, interrupt_on_timeout=False, config=config,
                                resources={"metadata": {"path": str(cwd)}})
        try:
            run_cells(client, env=env)
        except CellRunError as e:
            if isinstance(e.cause, DeadKernelError):
                raise LessonError(f"{name} did not run to its end: the kernel died while running cell {e.index} "
                                  f"({e.cause})") from None
            raise e.cause from None  # a cell failed: nbclient's own error, as a runner of notebooks raises it
        finally:
            stop_carrying(token)
    return nb


def executed_lessons(notebooks: Path, ipython_dir: Path, only: Sequence[str] | None = None):
    """Yield (path, executed notebook, seconds) for every lesson of ``notebooks`` (or those named in ``only``), in
    course order, each run by :func:`execute_notebook` against one fresh 4-engine cluster (in ``ipython_dir``) and
    the n-gram mirror, both stopped when the last has run."""
    with start_mirror() as mirror, LocalCluster(ipython_dir=ipython_dir) as cluster:
        for path in sorted(notebooks.glob("[0-9][0-9]-*.ipynb")):
            if only is not None and path.stem not in only:
                continue
            t0 = time.perf_counter()
            nb = execute_notebook(nbformat.read(path, as_version=4), cwd=path.parent,
                                  ipython_dir=cluster.ipython_dir, mirror_url=mirror.url, name=path.name)
            yield path, nb, time.perf_counter() - t0
