"""``grader grade``: execute a class's submissions against a fresh, verified 4-engine cluster each, and score them.

The pipeline for one submission is three preprocessors, and this module does the I/O
around them (read the file, write the gradebook)::

    RestoreTests -> ExecuteSubmission -> ScoreTests

The cluster's lifecycle is :class:`Workspace`'s: it owns one
:class:`course.cluster.LocalCluster` per worker in an isolated IPYTHONDIR, and
before every submission replaces the controller and all engines with fresh
processes (verified: ids 0..3, our PIDs) working in a fresh directory, so nothing
one student's code did on the engines (variables, imports, patches, cwd,
environment, files, a dead or shut-down engine, the controller's task history)
reaches the next student.
"""

from __future__ import annotations

import concurrent.futures
import contextlib
import difflib
import hashlib
import json
import os
import shutil
import sys
import tempfile
import threading
from dataclasses import dataclass
from datetime import datetime, timezone
from pathlib import Path

import nbformat
from tqdm import tqdm

from course.cluster import DEFAULT_ENGINES, LocalCluster
from course.data import ENV_VAR, start_mirror

from .exercise import Exercise, ExerciseError, load_exercises
from .gradebook import Gradebook, GradebookError
from .preprocessors.execute_submission import ExecuteSubmission
from .preprocessors.restore_tests import RestoreTests
from .preprocessors.score_tests import ScoreTests
from .release import student_version
from .results import SubmissionResult, TestResult

MAX_NOTEBOOK_BYTES = 20 * 1024 * 1024


class SubmissionError(ValueError):
    """This one submission cannot be graded (the message says why and what to do)."""


@dataclass
class Submission:
    student: str
    exercise: str
    path: Path
    checksum: str


def now() -> str:
    return datetime.now(timezone.utc).isoformat(timespec="seconds")


def sha256(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def discover(submissions: Path, exercises: dict[str, Exercise]) -> tuple[list[Submission], list[SubmissionResult]]:
    """``SUBMISSIONS/<student>/<exercise>.ipynb``; anything else becomes an error row naming the file."""
    if not submissions.is_dir():
        raise SubmissionError(f"{submissions}: no such directory; expected SUBMISSIONS/<student>/<NN-name>.ipynb")
    found, errors = [], []
    for entry in sorted(submissions.iterdir()):
        if not entry.is_dir():
            print(f"grader: skipping {entry}: not in a student folder (expected {submissions}/<student>/{entry.name})",
                  file=sys.stderr)
            continue
        for path in sorted(p for p in entry.rglob("*") if p.is_file()):
            if ".ipynb_checkpoints" in path.parts:
                continue
            checksum = sha256(path)
            if path.suffix == ".ipynb" and path.parent == entry and path.stem in exercises:
                found.append(Submission(entry.name, path.stem, path, checksum))
                continue
            close = difflib.get_close_matches(path.stem, list(exercises), n=1, cutoff=0.4)
            hint = f"rename it to {close[0]}.ipynb" if close else f"expected one of: {', '.join(exercises)}"
            errors.append(SubmissionResult(
                entry.name, path.stem if path.suffix == ".ipynb" else path.name, str(path), checksum,
                status="error", message=f"{path}: no exercise of that name; {hint}", started=now(), finished=now()))
    return found, errors


def read_submission(path: Path):
    size = path.stat().st_size
    if size == 0:
        raise SubmissionError(f"{path}: the file is empty; the student should submit their saved notebook again")
    if size > MAX_NOTEBOOK_BYTES:
        raise SubmissionError(f"{path}: {size} bytes is larger than {MAX_NOTEBOOK_BYTES} (clear the outputs and resubmit)")
    try:
        nb = nbformat.read(path, as_version=4)
        nbformat.validate(nb)
    except UnicodeDecodeError:
        raise SubmissionError(f"{path}: not a text file (not UTF-8); the student should submit the .ipynb file") from None
    except json.JSONDecodeError as e:
        raise SubmissionError(f"{path}: not a notebook: invalid JSON at line {e.lineno} ({e.msg}); "
                              "the student should re-download it from Jupyter (File > Download)") from None
    except Exception as e:
        raise SubmissionError(f"{path}: not a valid notebook ({type(e).__name__}: {str(e)[:200]}); "
                              "the student should re-download it from Jupyter") from None
    return nb


class Workspace:
    """One worker's place to run submissions: a mirror URL, an owned cluster, a fresh directory each time."""

    def __init__(self, root: Path, mirror_url: str, n_engines: int = DEFAULT_ENGINES):
        self.root = root
        self.ipython_dir = root / "ipython"
        self.mirror_url = mirror_url
        self.cluster = LocalCluster(n=n_engines, ipython_dir=self.ipython_dir, owned=True)
        self._count = 0

    def fresh(self) -> Path:
        """A new working directory and a new verified cluster working in it."""
        self._count += 1
        workdir = self.root / f"run-{self._count}"
        workdir.mkdir()
        self.cluster.engine_cwd = workdir
        self.cluster.restart() if self.cluster.state else self.cluster.start()
        self.cluster.verify()
        return workdir

    def kernel_env(self) -> dict[str, str]:
        env = dict(os.environ)
        env.update({"IPYTHONDIR": str(self.ipython_dir), ENV_VAR: self.mirror_url, "PYTHONUNBUFFERED": "1"})
        return env

    def grade(self, sub: Submission, exercise: Exercise, released, timeout: float) -> tuple[SubmissionResult, str | None]:
        result = SubmissionResult(sub.student, sub.exercise, str(sub.path), sub.checksum,
                                  max_points=exercise.max_points, started=now())
        try:
            nb = read_submission(sub.path)
            workdir = self.fresh()
            resources = {"grader": {}}
            nb, resources = RestoreTests(source=exercise.nb, released=released).preprocess(nb, resources)
            resources["metadata"] = {"path": str(workdir)}
            executor = ExecuteSubmission(timeout=int(timeout), kernel_env=self.kernel_env())
            nb, resources = executor.preprocess(nb, resources)
            nb, resources = ScoreTests().preprocess(nb, resources)
        except SubmissionError as e:
            result.status, result.message = "error", str(e)
            result.tests = [TestResult(t, 0.0, p, "not-run", "the submission could not be read")
                            for t, p in exercise.tests.items()]
            result.finished = now()
            return result, None
        finally:
            with contextlib.suppress(Exception):
                shutil.rmtree(self.root / f"run-{self._count}")
        result.tests = resources["grader"]["tests"]
        result.flags = resources["grader"].get("flags", [])
        if resources["grader"].get("crash"):
            result.flags.append(resources["grader"]["crash"])
            result.message = resources["grader"]["crash"]
        result.finished = now()
        return result, nbformat.writes(nb)

    def close(self) -> None:
        self.cluster.stop()


def _print_summary(results: list[SubmissionResult], exercises: dict[str, Exercise]) -> None:
    by_student: dict[str, dict[str, SubmissionResult]] = {}
    for r in results:
        by_student.setdefault(r.student, {})[r.exercise] = r
    names = list(exercises)
    width = max([7] + [len(s) for s in by_student])
    print("\n" + "student".ljust(width) + "  " + "  ".join(n[:2] for n in names) + "   total")
    for student, rows in sorted(by_student.items()):
        cells = []
        for n in names:
            r = rows.get(n)
            cells.append("--" if r is None else "ER" if r.status == "error" else f"{r.total:>2g}")
        total = sum(r.total for r in rows.values())
        possible = sum(e.max_points for e in exercises.values())
        print(student.ljust(width) + "  " + "  ".join(cells) + f"   {total:g}/{possible:g}")
    errors = [r for r in results if r.status == "error"]
    flagged = [r for r in results if r.flags]
    for r in errors:
        print(f"ER  {r.summary()}")
    for r in flagged:
        for flag in r.flags:
            print(f"!!  {r.student}/{r.exercise}: {flag}")


def main(
    *,
    submissions: str | Path,
    source: str | Path = "exercises",
    gradebook: str | Path = "gradebook.sqlite",
    timeout: float = 60,
    workers: int = 1,
    force: bool = False,
    student: str | None = None,
    engines: int = DEFAULT_ENGINES,
    quiet: bool = False,
) -> int:
    """Grade what is new or changed (everything with ``force``); return 0, or 1 if any submission failed to grade."""
    try:
        exercises = load_exercises(source)
        found, errors = discover(Path(submissions), exercises)
        book = Gradebook(gradebook)
    except (ExerciseError, SubmissionError, GradebookError) as e:
        print(f"grader grade: {e}", file=sys.stderr)
        return 2 if isinstance(e, SubmissionError) else 1
    released = {name: student_version(ex.nb)[0] for name, ex in exercises.items()}
    if student:
        found = [s for s in found if s.student == student]
        errors = [e for e in errors if e.student == student]
        if not found and not errors:
            print(f"grader grade: no submissions from {student!r} in {submissions}", file=sys.stderr)
            book.close()
            return 2
    todo = [s for s in found if force or book.checksum_of(s.student, s.exercise) != s.checksum]
    for e in errors:
        book.record(e)
    results: list[SubmissionResult] = list(errors)
    skipped = len(found) - len(todo)
    if skipped and not quiet:
        print(f"{skipped} submission(s) already graded and unchanged (use --force to regrade)")
    try:
        with tempfile.TemporaryDirectory(prefix="grader-") as root, start_mirror() as mirror:
            results += _run(todo, exercises, released, Path(root), mirror.url, book, timeout, workers, engines, quiet)
    except KeyboardInterrupt:
        print("\ngrader grade: interrupted. Every submission graded so far is in the gradebook; "
              "run the same command again to grade the rest.", file=sys.stderr)
        book.close()
        return 130
    if not quiet:
        _print_summary(results, exercises)
    book.close()
    return 1 if any(r.status == "error" for r in results) else 0


def _run(todo, exercises, released, root, mirror_url, book, timeout, workers, engines, quiet):
    results = []
    workers = max(1, min(workers, len(todo) or 1))
    local = threading.local()
    spaces: list[Workspace] = []
    lock = threading.Lock()

    def grade_one(sub: Submission):
        if not hasattr(local, "space"):
            local.space = Workspace(root / f"worker-{threading.get_ident()}", mirror_url, engines)
            local.space.root.mkdir()
            with lock:
                spaces.append(local.space)
        return local.space.grade(sub, exercises[sub.exercise], released[sub.exercise], timeout)

    bar = tqdm(total=len(todo), unit="nb", desc="grading", disable=quiet or not todo, file=sys.stderr)
    try:
        if workers == 1:
            outcomes = (grade_one(s) for s in todo)
        else:
            # Worker threads start their clusters, so those die with the threads (and with us).
            pool = concurrent.futures.ThreadPoolExecutor(workers, thread_name_prefix="grader")
            outcomes = (f.result() for f in concurrent.futures.as_completed([pool.submit(grade_one, s) for s in todo]))
        for result, executed in outcomes:
            book.record(result, executed)
            results.append(result)
            bar.set_postfix_str(f"{result.student}/{result.exercise} {result.total:g}/{result.possible:g}")
            bar.update()
    finally:
        bar.close()
        if workers > 1:
            pool.shutdown(wait=True, cancel_futures=True)
        for space in spaces:
            space.close()
    return results
