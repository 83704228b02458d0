"""``grader demo``: the whole course end to end, as CI and a newcomer run it.

1. start a 4-engine cluster and the n-gram mirror, execute every tutorial in
   ``notebooks/`` and write executed HTML copies, stop the cluster;
2. release the exercises, generate a sample class, grade it (the grader starts
   and owns its own clusters), export the grades and write feedback;
3. compare every score with the one the sample class should get.
"""

from __future__ import annotations

import os
import shutil
import sys
import time
from pathlib import Path

import nbformat
from nbconvert import HTMLExporter

from procbox.cluster import LocalCluster
from course.data import ENV_VAR, start_mirror

from . import export, feedback, grade, release
from .exercise import load_exercises
from .gradebook import Gradebook
from .preprocessors.execute_submission import ExecuteSubmission
from .sample_class import make_class

ROOT = Path(__file__).resolve().parents[1]


def execute_notebook(nb, *, cwd: Path, ipython_dir: Path, mirror_url: str, timeout: int = 300):
    """Execute a tutorial top to bottom (only cells tagged ``raises-exception`` may fail); return it."""
    env = dict(os.environ, IPYTHONDIR=str(ipython_dir), **{ENV_VAR: mirror_url})
    executor = ExecuteSubmission(timeout=timeout, kernel_env=env, allow_errors=False, interrupt_on_timeout=False)
    executor.preprocess(nb, {"metadata": {"path": str(cwd)}})
    return nb


def run_tutorials(notebooks: Path, out: Path) -> list[tuple[str, float]]:
    out.mkdir(parents=True, exist_ok=True)
    exporter = HTMLExporter()
    timings = []
    with start_mirror() as mirror, LocalCluster(ipython_dir=out / "ipython") as cluster:
        for path in sorted(notebooks.glob("[0-9][0-9]-*.ipynb")):
            t0 = time.perf_counter()
            nb = execute_notebook(nbformat.read(path, as_version=4), cwd=path.parent,
                                  ipython_dir=cluster.ipython_dir, mirror_url=mirror.url)
            body, _ = exporter.from_notebook_node(nb)
            (out / f"{path.stem}.html").write_text(body)
            timings.append((path.name, time.perf_counter() - t0))
            print(f"  executed {path.name} in {timings[-1][1]:.1f} s -> {out / (path.stem + '.html')}", flush=True)
    shutil.rmtree(out / "ipython", ignore_errors=True)
    return timings


def main(*, out: str | Path = "demo-output", students: int = 12, workers: int | None = None) -> int:
    out = Path(out)
    if out.exists():
        shutil.rmtree(out)
    print(f"== 1/3 Executing the tutorials against a 4-engine cluster -> {out / 'notebooks'}")
    run_tutorials(ROOT / "notebooks", out / "notebooks")

    print(f"== 2/3 Releasing the exercises and grading a sample class of {students} -> {out}")
    release.main(source=ROOT / "exercises", out=out / "release")
    exercises = load_exercises(ROOT / "exercises")
    expected = make_class(exercises, out / "submissions", students=students)
    book = out / "gradebook.sqlite"
    t0 = time.perf_counter()
    grade.main(submissions=out / "submissions", source=ROOT / "exercises", gradebook=book, workers=workers)
    elapsed = time.perf_counter() - t0
    export.main(gradebook=book, format="csv", level="test", output=out / "grades.csv")
    export.main(gradebook=book, format="csv", level="student", output=out / "grades-by-student.csv")
    feedback.main(gradebook=book, out=out / "feedback")
    print(f"graded {len(expected)} submissions in {elapsed:.1f} s ({elapsed / len(expected):.2f} s each); "
          f"grades in {out / 'grades.csv'}")

    print("== 3/3 Checking every score against the sample class's expected score")
    with Gradebook(book) as gb:
        got = {(r.student, r.exercise): r.total for r in gb.submissions()}
    wrong = {k: (got.get(k), v) for k, v in expected.items() if got.get(k) != v}
    for (student, exercise), (g, e) in sorted(wrong.items()):
        print(f"  MISMATCH {student}/{exercise}: graded {g}, expected {e}", file=sys.stderr)
    print("all scores as expected" if not wrong else f"{len(wrong)} score(s) differ from the expected ones")
    return 1 if wrong else 0
