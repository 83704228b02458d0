"""``grader demo``: the whole course end to end, as CI and a newcomer run it.

1. start a 4-engine cluster and the n-gram mirror, execute every tutorial in
   ``notebooks/`` and write executed HTML copies, stop the cluster;
2. release the exercises, build the course site (``site/``: the documentation
   site of ``grader book``, with the executed tutorials), generate a sample class, grade it (the grader starts and owns
   its own clusters), export the grades and write feedback;
3. compare every score with the one the sample class should get.
"""

from __future__ import annotations

import shutil
import sys
import time
from collections.abc import Sequence
from pathlib import Path

from course.site import offline_exporter

from . import export, feedback, grade, release, report
from .book import build_book
from .exercise import load_exercises
from .gradebook import Gradebook
from .lessons import LessonError, executed_lessons
from .sample_class import make_class

ROOT = Path(__file__).resolve().parents[1]


def run_tutorials(notebooks: Path, out: Path, executed: dict | None = None,
                  only: Sequence[str] | None = None) -> list[tuple[str, float]]:
    """Execute every tutorial (or those named in ``only``), write its HTML to ``out``; keep the executed notebooks
    in ``executed`` (by name)."""
    out.mkdir(parents=True, exist_ok=True)
    exporter = offline_exporter()  # as every page the project writes: offline, sanitised, with its policy
    timings = []
    for path, nb, seconds in executed_lessons(notebooks, out / "ipython", only):
        body, _ = exporter.from_notebook_node(nb)
        (out / f"{path.stem}.html").write_text(body)
        if executed is not None:
            executed[path.stem] = nb
        timings.append((path.name, seconds))
        print(f"  executed {path.name} in {seconds:.1f} s -> {out / (path.stem + '.html')}", flush=True)
    shutil.rmtree(out / "ipython", ignore_errors=True)
    return timings


def exit_code(grading: int, mismatches: int) -> int:
    """The demo's exit code: the grading's own if it failed, else 1 if any score differs from the expected one."""
    if grading != 0:
        return grading
    return 1 if mismatches else 0


# The first run (``grader demo``): the whole loop in about two minutes on two cores.  ``--full`` runs every lesson and
# grades a class of 12 and every shortcut student of every exercise (about 15 minutes there).
FIRST_LESSONS = ("01-start-a-cluster", "02-use-direct-views", "03-map-over-engines")
FIRST_STUDENTS = 3  # the complete, partial and blank kinds (grader.sample_class.KINDS)
FIRST_SHORTCUTS = 1  # per exercise
FULL_STUDENTS = 12


def main(*, out: str | Path = "demo-output", students: int | None = None, workers: int | None = None,
         full: bool = False) -> int:
    """Execute lessons against a 4-engine cluster, release the exercises, grade a sample class with shortcut students,
    write the report, feedback and site, check every score; print what to open.  Without ``full``, three lessons
    and their exercises with a small class; with it, the whole course."""
    out = Path(out)
    if out.exists():
        shutil.rmtree(out)
    t0 = time.perf_counter()
    lessons = None if full else FIRST_LESSONS
    print(f"== 1/3 Executing {'the tutorials' if full else 'lessons ' + ', '.join(FIRST_LESSONS)} against a "
          f"4-engine cluster -> {out / 'notebooks'}")
    executed: dict = {}
    try:
        run_tutorials(ROOT / "notebooks", out / "notebooks", executed, only=lessons)
    except LessonError as e:
        print(f"grader demo: {e}", file=sys.stderr)
        return 1
    code = grade_sample_class(out, students=students if students is not None else
                              FULL_STUDENTS if full else FIRST_STUDENTS, workers=workers, executed=executed,
                              exercises=lessons, shortcuts_each=None if full else FIRST_SHORTCUTS)
    print(f"\n== Done in {time.perf_counter() - t0:.0f} s. Open:")
    for what, where in (("the course site", out / "site" / "index.html"),
                        ("the class report", out / "report" / "index.html"),
                        ("the students' feedback", out / "feedback"),
                        ("the grades", out / "grades.csv")):
        print(f"  {what + ':':<24} {where.resolve()}")
    if not full:
        print("  (the whole course and a class of 12: python3 dev.py demo --full)")
    return code


def grade_sample_class(out: Path, *, students: int = FULL_STUDENTS, workers: int | None = None,
                       executed: dict | None = None, exercises: Sequence[str] | None = None,
                       shortcuts_each: int | None = None) -> int:
    """Steps 2 and 3: release, build the course site of the ``executed`` tutorials (if given), grade a sample
    class in ``out`` on ``exercises`` (default: all) with ``shortcuts_each`` shortcut students per exercise (default:
    all), check every score; the demo's exit code."""
    print(f"== 2/3 Releasing the exercises and grading a sample class of {students} -> {out}")
    released = release.main(source=ROOT / "exercises", out=out / "release")
    if released != 0:
        return released
    if executed:
        site = build_book(out / "site", executed, out / "release")
        print(f"course site (every lesson; {len(executed)} executed here): {site}", flush=True)
    chosen = {name: ex for name, ex in load_exercises(ROOT / "exercises").items()
              if exercises is None or name in exercises}
    expected = make_class(chosen, out / "submissions", students=students, shortcuts=True,
                          shortcuts_each=shortcuts_each)
    book = out / "gradebook.sqlite"
    t0 = time.perf_counter()
    graded = grade.main(submissions=out / "submissions", source=ROOT / "exercises", gradebook=book, workers=workers)
    if graded not in (0, 1):  # a usage error or an interruption: there are no grades to look at
        print(f"grader demo: grading failed (exit code {graded})", file=sys.stderr)
        return graded
    elapsed = time.perf_counter() - t0
    export.main(gradebook=book, format="csv", level="test", output=out / "grades.csv")
    export.main(gradebook=book, format="csv", level="student", output=out / "grades-by-student.csv")
    feedback.main(gradebook=book, out=out / "feedback", quiet=True)
    report.main(gradebook=book, out=out / "report", feedback=out / "feedback")
    print(f"class report: {out / 'report' / 'index.html'}")
    print(f"graded {len(expected)} submissions in {elapsed:.1f} s ({elapsed / max(len(expected), 1):.2f} s each); "
          f"grades in {out / 'grades.csv'}")

    print("== 3/3 Checking every score against the sample class's expected score")
    with Gradebook(book) as gb:
        got = {(r.student, r.exercise): r.total for r in gb.submissions()}
    wrong = {k: (got.get(k), v) for k, v in expected.items() if got.get(k) != v}
    for (student, exercise), (g, e) in sorted(wrong.items()):
        print(f"  MISMATCH {student}/{exercise}: graded {g}, expected {e}", file=sys.stderr)
    print("all scores as expected" if not wrong else f"{len(wrong)} score(s) differ from the expected ones")
    if graded:
        print(f"grader demo: grading failed (exit code {graded}): see its errors above", file=sys.stderr)
    return exit_code(graded, len(wrong))
