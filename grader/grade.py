"""``grader grade``: the command.  Grade a class's submissions, each in a sealed box against a fresh, verified
4-engine cluster, and record every result in the gradebook.

Who does what:

- :mod:`grader.options`: the run's settings (:class:`~grader.options.GradingOptions`), declared once;
- :mod:`grader.intake`: find the submissions in either layout and read them safely (:mod:`grader.safefiles`);
- :mod:`grader.grading`: the pipeline of one submission (``RestoreTests -> ScanSubmission ->
  ExecuteSubmission -> ScoreTests``), which both runners call;
- :mod:`grader.local` and :mod:`grader.remote`: the runners, on this machine's workers or on the engines of
  a grading cluster;
- :mod:`grader.late`: due dates, submission times and the late policy.

This module only ties them together: select (``--student``, ``--shard``, what is unchanged), run, report.
"""

from __future__ import annotations

import contextlib
import hashlib
import sys
from pathlib import Path

from course.data import private_dirs
from procbox.cluster import ClusterError

from . import autotests, local, remote
from .exercise import Exercise, ExerciseError, is_nbgrader_course, load_course, load_exercises
from .gradebook import Gradebook, GradebookError
from .grading import SealError
from .intake import SubmissionError, discover, discover_course
from .late import LateError, lateness_of
from .options import GradingOptions
from .release import student_versions
from .results import NOT_SUBMITTED, SubmissionResult
from .worker import SlotError

MAX_AROUND = 200  # entries of the instructor's folders the sealing check looks for in a box


def instructor_paths(source, submissions, gradebook) -> list[Path]:
    """What student code must never see: the sources, the submissions, the gradebook, the course's data (the n-gram
    files it must download from the mirror), this project's checkout (its .git, the exercises) and what lies next
    to the gradebook (earlier grades, feedback, reports).  Boxes are built from an allowlist, so none of it is
    mounted; the sealing check looks for each."""
    from procbox.rootfs import BOX_PACKAGES

    book = Path(gradebook).resolve()
    paths = [Path(source).resolve(), Path(submissions).resolve(), *(p for p in private_dirs() if p.exists()),
             *(p for p in (book, Path(f"{book}-wal"), Path(f"{book}-shm")) if p.exists())]
    project = Path(__file__).resolve().parents[1]
    keep = {project / name for name in BOX_PACKAGES} | {Path(sys.prefix).resolve()}
    around = []
    for folder in dict.fromkeys([project, book.parent]):
        if folder == Path(folder.anchor) or not folder.is_dir():
            continue
        with contextlib.suppress(OSError):
            around += sorted(p for p in folder.iterdir()
                             if p not in keep and not any(k.is_relative_to(p) for k in keep))
    return list(dict.fromkeys(paths + around[:MAX_AROUND]))


def _print_summary(results: list[SubmissionResult], exercises: dict[str, Exercise]) -> None:
    by_student: dict[str, dict[str, SubmissionResult]] = {}
    for r in results:
        by_student.setdefault(r.student, {})[r.key] = r
    names = list(exercises)
    width = max([7] + [len(s) for s in by_student])
    numbered = all(n[:2].isdigit() for n in names)
    labels = [n[:2] if numbered else f"{i + 1:>2}" for i, n in enumerate(names)]
    if not numbered:
        print("\n" + "\n".join(f"{label}: {name}" for label, name in zip(labels, names)))
    print("\n" + "student".ljust(width) + "  " + "  ".join(labels) + "   total")
    for student, rows in sorted(by_student.items()):
        cells = []
        for n in names:
            row = rows.get(n)
            cells.append("--" if row is None else "ER" if row.status == "error" else "NS" if row.status == NOT_SUBMITTED
                         else f"{row.total:>2g}")
        total = sum(r.total for r in rows.values())
        possible = sum(e.max_points for e in exercises.values())
        print(student.ljust(width) + "  " + "  ".join(cells) + f"   {total:g}/{possible:g}")
    errors = [r for r in results if r.status == "error"]
    flagged = [r for r in results if r.flags]
    for r in errors:
        print(f"ER  {r.summary()}")
    for r in results:
        if r.status == NOT_SUBMITTED:
            print(f"NS  {r.summary()}")
    for r in flagged:
        for flag in r.flags:
            print(f"!!  {r.student}/{r.key}: {flag}")
    pending = [r for r in results if r.pending]
    if pending:
        count = sum(len(r.pending) for r in pending)
        print(f"{count} answer(s) in {len(pending)} submission(s) are to be graded by hand: "
              "grader manual export -o manual.csv, fill in points, grader manual import manual.csv")


def parse_shard(text: str) -> tuple[int, int]:
    """(K, N) from ``K/N``, 0 <= K < N (what ``$SLURM_ARRAY_TASK_ID`` of ``--array=0-(N-1)`` and
    ``$JOB_COMPLETION_INDEX`` give)."""
    k, sep, n = str(text).partition("/")
    try:
        k_, n_ = int(k), int(n)
    except ValueError:
        raise ShardError(f"--shard {text!r}: expected K/N, e.g. 0/4 for the first of 4 shares") from None
    if not sep or n_ < 1 or not 0 <= k_ < n_:
        raise ShardError(f"--shard {text!r}: K must be at least 0 and below N (0/{max(n_, 1)} .. "
                         f"{max(n_, 1) - 1}/{max(n_, 1)})")
    return k_, n_


class ShardError(ValueError):
    pass


def shard_of(student: str, n: int) -> int:
    """The share (0 .. n-1) a student belongs to: from the name alone, the same on every host and run."""
    return int(hashlib.sha256(student.encode("utf-8", "surrogateescape")).hexdigest(), 16) % n


def main(submissions: str | Path, options: GradingOptions | None = None, **changes) -> int:
    """Grade what is new or changed (everything with ``force``); return 0, or 1 if any submission failed to grade.

    ``submissions`` is a folder of ``<student>/<NN-name>.ipynb`` (exercises from ``options.source``), or an
    nbgrader course directory as it is (``source/`` and ``submitted/``; only ``options.assignment`` if given).
    ``options`` (:class:`grader.options.GradingOptions`, which documents each) are the run's settings;
    keywords naming its fields change them (``main(path, quiet=True, timeout=30)``).

    Each submission runs in a sealed box (:mod:`procbox.box`) with its own cluster, on this machine
    (:mod:`grader.local`) or on the engines of ``options.cluster`` (:mod:`grader.remote`).  Before grading, a
    probe box checks that the sandbox holds (:meth:`grader.worker.Slot.check_sealed`); if it does not, or
    cannot be made, nothing is graded unless ``sandbox`` is False, and then every row says it was graded
    unsealed.
    """
    try:
        options = (options or GradingOptions()).replace(**changes)
    except ValueError as e:
        print(f"grader grade: {e}", file=sys.stderr)
        return 2
    course = Path(submissions) if is_nbgrader_course(submissions) else None
    if options.stderr_fails is None:  # as nbgrader scores an nbgrader course
        options = options.replace(stderr_fails=course is not None)
    try:
        if course is not None:
            exercises = load_course(course, options.assignment)
            found, errors = discover_course(course, exercises)
        else:
            if options.assignment is not None:
                raise ExerciseError(f"{submissions}: --assignment is for an nbgrader course (a folder holding "
                                    "source/ and submitted/); this folder has no source/")
            exercises = load_exercises(options.source)
            found, errors = discover(Path(submissions), exercises)
        lateness = lateness_of(options, course)
        if options.shard is not None:
            k, n = parse_shard(options.shard)
            found = [s for s in found if shard_of(s.student, n) == k]
            errors = [e for e in errors if shard_of(e.student, n) == k]
        exercises = autotests.instantiate(exercises, course)  # ### AUTOTEST directives, as nbgrader releases them
        released = {key: nb for key, (nb, _) in student_versions(exercises).items()}
        book = Gradebook(options.gradebook)
    except (ExerciseError, SubmissionError, GradebookError, LateError, ShardError) as e:
        print(f"grader grade: {e}", file=sys.stderr)
        return 2 if isinstance(e, (SubmissionError, LateError, ShardError)) else 1
    with contextlib.closing(book):
        return _grade(submissions, found, errors, exercises, released, book, options, lateness)


def _grade(submissions, found, errors, exercises, released, book: Gradebook, options: GradingOptions,
           lateness) -> int:
    if options.student:
        found = [s for s in found if s.student == options.student]
        errors = [e for e in errors if e.student == options.student]
        if not found and not errors:
            print(f"grader grade: no submissions from {options.student!r} in {submissions}", file=sys.stderr)
            return 2
    todo = [s for s in found if options.force or book.checksum_of(s.student, s.exercise, s.assignment) != s.checksum]
    for e in errors:  # errors and notebooks not submitted: recorded as they are
        book.record(e)
    results: list[SubmissionResult] = list(errors)
    skipped = len(found) - len(todo)
    if skipped and not options.quiet:
        print(f"{skipped} submission(s) already graded and unchanged (use --force to regrade)")
    again = "every submission graded so far is in the gradebook; run the same command again to grade the rest"
    try:
        if options.cluster is not None:
            results += remote.grade_on_cluster(todo, exercises, released, book.record, options, lateness)
        else:
            hide = instructor_paths(options.source, submissions, options.gradebook)
            results += local.grade_here(todo, exercises, released, book, options, lateness, hide)
    except SealError as e:
        print("grader grade: refusing to grade: the sandbox does not hold here:\n  " + "\n  ".join(e.problems)
              + "\nNothing was graded. Fix the machine (see docs/threat-model.md), grade with "
              "--network host if only the network is the problem and the exercises need it, or pass --no-sandbox "
              "to grade unconfined (every row then says so).", file=sys.stderr)
        return 1
    except remote.RemoteClusterError as e:
        print(f"\ngrader grade: {e}. Every submission graded so far is in the gradebook.", file=sys.stderr)
        return 1
    except (ClusterError, SlotError) as e:
        print(f"\ngrader grade: the grader's own cluster failed ({e}). This is not a student's fault; {again}.",
              file=sys.stderr)
        return 1
    except KeyboardInterrupt:
        print(f"\ngrader grade: interrupted. {again[0].upper()}{again[1:]}.", file=sys.stderr)
        return 130
    if not options.quiet:
        _print_summary(results, exercises)
    return 1 if any(r.status == "error" for r in results) else 0
