"""``grader grade``: execute a class's submissions, each against a fresh, verified 4-engine cluster, and score them.

The pipeline for one submission is three preprocessors; this module does the I/O
around them (read the file, write the gradebook)::

    RestoreTests -> ExecuteSubmission -> ScoreTests

Where they run, and how the cluster is renewed between submissions, is
:mod:`grader.worker`'s business; the cluster's own lifecycle is
:mod:`procbox.cluster`'s.
"""

from __future__ import annotations

import concurrent.futures
import difflib
import hashlib
import json
import os
import queue
import sys
import tempfile
import threading
from dataclasses import dataclass
from datetime import datetime, timezone
from pathlib import Path

import nbformat
from nbconvert.preprocessors import ClearOutputPreprocessor
from tqdm import tqdm

from procbox.cluster import DEFAULT_ENGINES, ClusterError
from course.data import start_mirror

from .exercise import Exercise, ExerciseError, load_exercises
from .gradebook import Gradebook, GradebookError
from .preprocessors.restore_tests import RestoreTests
from .preprocessors.score_tests import ScoreTests
from .release import student_version
from procbox.sandbox import DEFAULT_MEMORY, Sandbox
from .worker import Worker, close_thread_loop, drain
from .results import SubmissionResult, TestResult

MAX_NOTEBOOK_BYTES = 50 * 1024 * 1024


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


def read_submission(path: Path, max_bytes: int = MAX_NOTEBOOK_BYTES):
    """The notebook as nbformat 4 with outputs cleared, and what was unusual about it (flags)."""
    size = path.stat().st_size
    if size == 0:
        raise SubmissionError(f"{path}: the file is empty; the student should save the notebook and submit it again")
    if size > max_bytes:
        raise SubmissionError(f"{path}: {size} bytes is larger than the {max_bytes}-byte limit; the student should "
                              "clear the outputs (Edit > Clear Outputs of All Cells), save and submit again")
    raw = path.read_bytes()
    try:
        text = raw.decode("utf-8")
        data = json.loads(text)
    except UnicodeDecodeError:
        raise SubmissionError(f"{path}: not a notebook (not UTF-8 text); the student should re-download the .ipynb "
                              "from Jupyter (File > Download) and submit it again") from None
    except json.JSONDecodeError as e:
        raise SubmissionError(f"{path}: not a notebook: invalid JSON at line {e.lineno} ({e.msg}); the student "
                              "should re-download the .ipynb from Jupyter (File > Download) and submit it again") from None
    flags = []
    version = data.get("nbformat") if isinstance(data, dict) else None
    if version not in (3, 4):
        raise SubmissionError(f"{path}: not a Jupyter notebook (nbformat {version!r}); the student should "
                              "re-download the .ipynb from Jupyter and submit it again")
    if version == 3:
        flags.append("the notebook was in nbformat 3 and was converted to nbformat 4")
    try:
        nb = nbformat.reads(text, as_version=4)
        nbformat.validate(nb)
    except Exception as e:
        raise SubmissionError(f"{path}: not a valid notebook ({type(e).__name__}: {str(e)[:200]}); the student "
                              "should re-download it from Jupyter and submit it again") from None
    kernel = nb.metadata.get("kernelspec", {}).get("name", "python3")
    if kernel != "python3":
        flags.append(f"the notebook asked for kernel {kernel!r}; it was graded with python3")
    nb, _ = ClearOutputPreprocessor().preprocess(nb, {})
    return nb, flags


def grade_one(worker: Worker, sub: Submission, exercise: Exercise, released, timeout: float, max_bytes: int,
              more_to_come: bool) -> tuple[SubmissionResult, str | None]:
    """Read, restore, execute and score one submission; return its result and the executed notebook."""
    result = SubmissionResult(sub.student, sub.exercise, str(sub.path), sub.checksum,
                              max_points=exercise.max_points, started=now())
    try:
        nb, flags = read_submission(sub.path, max_bytes)
    except SubmissionError as e:
        result.status, result.message, result.finished = "error", str(e), now()
        result.tests = [TestResult(t, 0.0, p, "not-run", "the submission could not be read")
                        for t, p in exercise.tests.items()]
        return result, None
    slot = worker.next_slot(more_to_come)
    resources = {"grader": {"flags": flags}}
    nb, resources = RestoreTests(source=exercise.nb, released=released).preprocess(nb, resources)
    nb, resources = slot.execute(nb, resources, timeout)
    nb, resources = ScoreTests().preprocess(nb, resources)
    result.tests = resources["grader"]["tests"]
    result.flags = resources["grader"]["flags"]
    if resources["grader"].get("crash"):
        result.message = resources["grader"]["crash"]
    result.finished = now()
    return result, nbformat.writes(nb)


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


SUBMISSIONS_PER_WORKER = 4  # a worker's own fork servers cost about 0.65 CPU-s each: worth it from here on


def default_workers(submissions: int | None = None) -> int:
    """One worker per CPU this process may use, at most 4 (each holds two clusters and kernels), and for
    ``submissions`` to grade, no more than one per SUBMISSIONS_PER_WORKER of them."""
    cpus = len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else os.cpu_count() or 1
    most = 4 if submissions is None else submissions // SUBMISSIONS_PER_WORKER
    return max(1, min(4, cpus, most))


def main(
    *,
    submissions: str | Path,
    source: str | Path = "exercises",
    gradebook: str | Path = "gradebook.sqlite",
    timeout: float = 60,
    workers: int | None = None,
    force: bool = False,
    student: str | None = None,
    engines: int = DEFAULT_ENGINES,
    quiet: bool = False,
    sandbox: bool = True,
    memory: int = DEFAULT_MEMORY,
    max_bytes: int = MAX_NOTEBOOK_BYTES,
) -> int:
    """Grade what is new or changed (everything with ``force``); return 0, or 1 if any submission failed to grade.

    ``workers`` submissions are graded at once (default: :func:`default_workers`).
    """
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
    book_path = Path(gradebook).resolve()
    hidden = [Path(source).resolve(), Path(submissions).resolve()] + [
        p for p in (book_path, Path(f"{book_path}-wal"), Path(f"{book_path}-shm")) if p.exists()]
    try:
        with tempfile.TemporaryDirectory(prefix="grader-") as root, start_mirror() as mirror:
            jail = Sandbox(hide=[*hidden, Path(root)], memory=memory, requested=sandbox)
            if not (quiet and jail.active):
                print(jail.describe(), file=sys.stdout if jail.active else sys.stderr)
            os.chmod(root, 0o711)
            slots = dict(mirror_url=mirror.url, sandbox=jail, n_engines=engines)
            results += _run(todo, exercises, released, Path(root), slots, book, timeout, max_bytes,
                            workers or default_workers(len(todo)), quiet)
    except ClusterError as e:
        print(f"\ngrader grade: the grader's own cluster failed ({e}). This is not a student's fault and nothing "
              "was recorded for the submission being graded; run the same command again to grade the rest.",
              file=sys.stderr)
        book.close()
        return 1
    except KeyboardInterrupt:
        print("\ngrader grade: interrupted. Every submission graded so far is in the gradebook; "
              "run the same command again to grade the rest.", file=sys.stderr)
        book.close()
        return 130
    if not quiet:
        _print_summary(results, exercises)
    book.close()
    return 1 if any(r.status == "error" for r in results) else 0


def _run(todo, exercises, released, root, slot_options, book, timeout, max_bytes, workers, quiet):
    """Grade ``todo`` on ``workers`` workers (threads, each with its own clusters); record each result as it comes."""
    jobs: queue.Queue = queue.Queue()
    for sub in todo:
        jobs.put(sub)
    results, lock, stop = [], threading.Lock(), threading.Event()
    bar = tqdm(total=len(todo), unit="nb", desc="grading", disable=quiet or not todo, file=sys.stderr)
    crews = [Worker(root / f"worker-{i}", **slot_options) for i in range(max(1, min(workers, len(todo) or 1)))]

    def work(worker: Worker) -> None:
        try:
            take(worker)
        finally:
            close_thread_loop()

    def take(worker: Worker) -> None:
        for sub in drain(jobs):
            if stop.is_set():
                return
            outcome = grade_one(worker, sub, exercises[sub.exercise], released[sub.exercise], timeout, max_bytes,
                                more_to_come=not jobs.empty())
            with lock:
                if stop.is_set():  # interrupted: what ran during the stop is not a grade
                    return
                book.record(*outcome)
                results.append(outcome[0])
                bar.set_postfix_str(f"{sub.student}/{sub.exercise} {outcome[0].total:g}/{outcome[0].possible:g}")
                bar.update()

    try:
        if len(crews) == 1:
            work(crews[0])
        else:
            with concurrent.futures.ThreadPoolExecutor(len(crews), thread_name_prefix="grader") as pool:
                futures = [pool.submit(work, w) for w in crews]
                try:
                    for f in concurrent.futures.as_completed(futures):
                        f.result()
                except BaseException:
                    stop.set()
                    for w in crews:  # ends their kernels and engines, so the threads finish quickly
                        w.close()
                    raise
    except BaseException:
        stop.set()
        raise
    finally:
        bar.close()
        for w in crews:
            w.close()
    return results
