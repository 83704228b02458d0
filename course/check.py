"""``course check``: run a released exercise's public tests against a fresh cluster and show each test's result.

From a terminal: ``course check exercises/03-map-over-engines.ipynb``.
From the notebook itself (save it first): ``from course import check; check()``.

The notebook runs in a new kernel against a 4-engine cluster of its own, both
forked from a warm fork server (:mod:`procbox`) and talking over ``ipc`` sockets
as the grader's do, so nothing but the results is printed.  A test cell (nbgrader
``grade`` without ``solution``) passes when it runs without an error; the
instructor's grader also runs the hidden tests and guards against tampering,
which a self-check has no need for.
"""

from __future__ import annotations

import os
import sys
import tempfile
from dataclasses import dataclass
from pathlib import Path


@dataclass
class Result:
    test: str
    points: float
    max_points: float
    status: str  # passed | failed | not-run
    message: str = ""


def _notebook_path(notebook: str | os.PathLike | None) -> Path:
    if notebook is None:
        # Jupyter Server tells the kernel which notebook it belongs to.
        session = os.environ.get("JPY_SESSION_NAME")
        if not session:
            raise FileNotFoundError("pass the notebook's path: check('03-map-over-engines.ipynb')")
        notebook = session
    return Path(notebook)


def _nbgrader(cell) -> dict:
    meta = cell.get("metadata", {}).get("nbgrader")
    return meta if isinstance(meta, dict) else {}


def _is_test(cell) -> bool:
    meta = _nbgrader(cell)
    return cell.cell_type == "code" and bool(meta.get("grade")) and not meta.get("solution")


def score(nb) -> list[Result]:
    """Each test cell's result, from the errors in its outputs (the notebook was executed with errors allowed)."""
    results = []
    for cell in nb.cells:
        if not _is_test(cell):
            continue
        meta = _nbgrader(cell)
        points = float(meta.get("points", 0))
        errors = [o for o in cell.get("outputs", []) if o.get("output_type") == "error"]
        if cell.get("execution_count") is None and not cell.get("outputs"):
            results.append(Result(meta.get("grade_id", "?"), 0.0, points, "not-run", "the cell did not run"))
        elif errors:
            message = f"{errors[0].get('ename')}: {errors[0].get('evalue')}"[:300]
            results.append(Result(meta.get("grade_id", "?"), 0.0, points, "failed", message))
        else:
            results.append(Result(meta.get("grade_id", "?"), points, points, "passed"))
    return results


def execute(nb, workdir: Path, timeout: float):
    """Run every cell of ``nb`` (errors allowed) in a forked kernel with its own cluster; the crash message or None."""
    from jupyter_core.utils import run_sync
    from nbclient import NotebookClient
    from nbclient.exceptions import DeadKernelError

    from procbox.cluster import LocalCluster
    from procbox.kernel import kernel_manager
    from procbox.policy import minimal_env
    from procbox.spawners import Forked

    from .data import ENV_VAR, mirror_url

    with tempfile.TemporaryDirectory(prefix="course-check-") as tmp_name:
        tmp = Path(tmp_name)
        env = minimal_env(HOME=os.environ.get("HOME", str(tmp)), **{ENV_VAR: mirror_url()})
        with LocalCluster(ipython_dir=tmp / "ipython", engine_cwd=workdir, env=env, spawner=Forked()) as cluster:
            def spawn(argv, env, cwd):
                return cluster.start_kernel(argv, env=env, cwd=cwd, log=tmp / "kernel.log")

            km = kernel_manager(spawn, kernels_dir=tmp / "kernels", connection_file=tmp / "kernel.json",
                                ip=str(tmp / "kernel"))
            run_sync(km.start_kernel)(env=dict(env, IPYTHONDIR=str(cluster.ipython_dir)), cwd=str(workdir))
            client = NotebookClient(nb, km=km, timeout=int(timeout), allow_errors=True, interrupt_on_timeout=True,
                                    resources={"metadata": {"path": str(workdir)}})
            try:
                client.execute()
            except DeadKernelError as e:
                return f"the kernel died ({e}); the cells after it did not run"
            finally:
                if km.has_kernel:
                    run_sync(km.shutdown_kernel)(now=True)
    return None


def check(notebook: str | os.PathLike | None = None, timeout: float = 120) -> None:
    """Execute the saved notebook in a new kernel with its own 4-engine cluster; print the public tests' results.

    Returns nothing, so that ``check()`` as the last line of a cell leaves no ``Out[n]`` under the report; the
    command ``course check`` exits with :func:`run`'s code."""
    run(notebook, timeout)


def run(notebook: str | os.PathLike | None = None, timeout: float = 120) -> int:
    """What :func:`check` does; 0 when every public test passed, 1 when one did not, 2 when there is no notebook."""
    import nbformat

    path = _notebook_path(notebook)
    if not path.is_file():
        print(f"course check: {path}: no such notebook; pass the path of your exercise file", file=sys.stderr)
        return 2
    try:
        nb = nbformat.read(path, as_version=4)
    except Exception as e:
        print(f"course check: {path}: not a readable notebook ({e}); re-download it from Jupyter", file=sys.stderr)
        return 2
    print(f"Checking {path} (your saved file: save your notebook first) ...", flush=True)
    crash = execute(nb, path.parent.resolve(), timeout)
    tests = score(nb)
    for t in tests:
        mark = "PASS" if t.status == "passed" else t.status.upper()
        print(f"  {mark:<8} {t.test:<24} {t.points:g}/{t.max_points:g}  {t.message}")
    if crash:
        print(f"  {crash}")
    total, possible = sum(t.points for t in tests), sum(t.max_points for t in tests)
    print(f"Public tests: {total:g}/{possible:g} points. Hidden tests run when your instructor grades.")
    return 0 if total == possible else 1


def main(*, notebook: str, timeout: float = 120) -> int:
    return run(notebook, timeout)
