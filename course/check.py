"""``course check``: run a released exercise's public tests against a fresh cluster and show each test's result.

From a terminal: ``course check exercises/03-map-over-engines.ipynb``.
From the notebook itself (save it first): ``from course import check; check()``.
"""

from __future__ import annotations

import os
import sys
import tempfile
from pathlib import Path


def _notebook_path(notebook: str | os.PathLike | None) -> Path:
    if notebook is None:
        # Jupyter Server tells the kernel which notebook it belongs to.
        session = os.environ.get("JPY_SESSION_NAME")
        if not session:
            raise FileNotFoundError("pass the notebook's path: check('03-map-over-engines.ipynb')")
        notebook = session
    return Path(notebook)


def check(notebook: str | os.PathLike | None = None, timeout: float = 120) -> int:
    """Execute the saved notebook in a new kernel with its own 4-engine cluster; print the public tests' results."""
    import nbformat

    from grader.preprocessors.execute_submission import ExecuteSubmission
    from grader.preprocessors.score_tests import ScoreTests

    from procbox.cluster import LocalCluster
    from .data import ENV_VAR, mirror_url

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
    with tempfile.TemporaryDirectory(prefix="course-check-") as tmp:
        with LocalCluster(ipython_dir=Path(tmp) / "ipython", engine_cwd=tmp) as cluster:
            env = dict(os.environ, IPYTHONDIR=str(cluster.ipython_dir), **{ENV_VAR: mirror_url()})
            env.pop("JPY_SESSION_NAME", None)
            resources = {"metadata": {"path": str(path.parent.resolve())}, "grader": {}}
            nb, resources = ExecuteSubmission(timeout=int(timeout), kernel_env=env).preprocess(nb, resources)
            nb, resources = ScoreTests().preprocess(nb, resources)
    tests = resources["grader"]["tests"]
    for t in tests:
        mark = "PASS" if t.status == "passed" else t.status.upper()
        print(f"  {mark:<8} {t.test:<24} {t.points:g}/{t.max_points:g}  {t.message}")
    if resources["grader"].get("crash"):
        print(f"  {resources['grader']['crash']}")
    total, possible = sum(t.points for t in tests), sum(t.max_points for t in tests)
    print(f"Public tests: {total:g}/{possible:g} points. Hidden tests run when your instructor grades.")
    return 0 if total == possible else 1


def main(*, notebook: str, timeout: float = 120) -> int:
    return check(notebook, timeout)
