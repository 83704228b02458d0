"""``grader grade``: execute a class's submissions, each against a fresh, verified 4-engine cluster, and score them.

The pipeline for one submission is :func:`grading`; this module does the I/O
around it (find and read the files, write the gradebook)::

    RestoreTests -> ScanSubmission -> ExecuteSubmission -> ScoreTests

Two layouts: this course's flat ``SUBMISSIONS/<student>/<NN-name>.ipynb`` against
``--source exercises/``, and an nbgrader course as it is, ``COURSE/source/<assignment>/``
and ``COURSE/submitted/<student>/<assignment>/<notebook>.ipynb`` with ``timestamp.txt``.
In an nbgrader course, as in nbgrader's autograde, the assignment's other files run beside
each notebook (:mod:`grader.assignment_files`) and a notebook left out of an assignment that
was handed in is recorded as not submitted, with 0 of its points.

Where they run, and how the cluster is renewed between submissions, is
:mod:`grader.worker`'s business; the cluster's own lifecycle is
:mod:`procbox.cluster`'s.
"""

from __future__ import annotations

import concurrent.futures
import contextlib
import copy
import difflib
import errno
import hashlib
import json
import os
import queue
import stat
import sys
import threading
from dataclasses import dataclass
from datetime import datetime, timezone
from pathlib import Path

import nbformat
from nbconvert.preprocessors import ClearOutputPreprocessor

from procbox.cluster import DEFAULT_ENGINES, ClusterError
from course.data import private_dirs, start_mirror

from . import assignment_files, autotests
from .exercise import Exercise, ExerciseError, is_nbgrader_course, load_course, load_exercises
from .late import LateError, LatePolicy, iso, parse_time
from .gradebook import Gradebook, GradebookError
from .preprocessors.restore_tests import RestoreTests
from .preprocessors.score_tests import ScoreTests
from .release import student_versions
from procbox.rundirs import PREFIX as RUN_PREFIX, run_root, sweep_stale
from procbox.box import DEFAULT_MEMORY, DEFAULT_PROCS, DEFAULT_TMP, DEFAULT_WORK, BoxPolicy
from .preprocessors.execute_submission import ExecuteSubmission, KernelNotReady
from .preprocessors.scan_submission import ScanSubmission
from .state import GradingState
from .preprocessors.execute_submission import MAX_EXECUTED_BYTES, write_capped
from .progress import Progress
from .worker import Slot, SlotError, Worker, close_thread_loop, drain
from .results import NOT_SUBMITTED, SubmissionResult, TestResult

MAX_NOTEBOOK_BYTES = 50 * 1024 * 1024
MAX_NESTING = 100  # levels of lists and objects a notebook's JSON may nest (real notebooks: about 10)
REDOWNLOAD = "the student should re-download the .ipynb from Jupyter (File > Download) and submit it again"
NOT_A_LINK = "submit the notebook itself, as a regular file in the student's own folder, not a link"
_OPEN_FILE = os.O_RDONLY | os.O_NOFOLLOW | os.O_NONBLOCK | os.O_CLOEXEC | getattr(os, "O_NOCTTY", 0)
_OPEN_DIR = os.O_RDONLY | os.O_NOFOLLOW | os.O_DIRECTORY | os.O_CLOEXEC


class SubmissionError(ValueError):
    """This one submission cannot be graded (the message says why and what to do)."""


class SealError(RuntimeError):
    """The sandbox that was asked for does not hold on this machine: nothing is graded."""

    def __init__(self, problems: list[str]):
        super().__init__("; ".join(problems))
        self.problems = problems


DEFAULT_BUDGET = 600  # seconds all the cells of one submission may take together (--budget)
UNSEALED = ("graded without the sandbox (--no-sandbox): its code ran as the grader's user and could read, write and "
            "reach what the grader can")
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
            around += sorted(p for p in folder.iterdir() if p not in keep and not any(k.is_relative_to(p) for k in keep))
    return list(dict.fromkeys(paths + around[:MAX_AROUND]))


@dataclass
class Submission:
    student: str
    exercise: str  # the notebook's name
    path: Path
    checksum: str
    root: Path | None = None  # the SUBMISSIONS folder: ``path`` is opened from it without following any link
    assignment: str = ""  # the nbgrader assignment ("" in the flat layout)
    submitted_at: str = ""  # ISO 8601 UTC, from nbgrader's timestamp.txt or --submitted-at
    notes: tuple[str, ...] = ()  # what was odd about finding it (an unreadable timestamp.txt, say)
    files: tuple = ()  # an nbgrader assignment's files to put beside it (grader.assignment_files.AssignmentFile)

    @property
    def key(self) -> str:
        return f"{self.assignment}/{self.exercise}" if self.assignment else self.exercise


def now() -> str:
    return datetime.now(timezone.utc).isoformat(timespec="seconds")


def shown(path) -> str:
    """A path or name as text that can be printed and stored (bytes that are not UTF-8 as ``\\xNN``)."""
    return os.fsencode(os.fspath(path)).decode("utf-8", "backslashreplace")


def _describe(e: BaseException) -> str:
    """``Type: message``, short, for any exception (a schema error's message, never its whole instance)."""
    try:
        text = getattr(e, "message", None)
        text = text if isinstance(text, str) else str(e)
    except Exception:  # noqa: BLE001 - a message that cannot even be made (too deep, say)
        text = ""
    text = shown(text[:200]).replace("\n", " ")
    return f"{type(e).__name__}: {text}" if text else type(e).__name__


def _not_plain(st: os.stat_result) -> str | None:
    """Why a file with this (l)stat is not a submission the grader may open, or None."""
    mode = st.st_mode
    if stat.S_ISLNK(mode):
        return f"is a symbolic link, which the grader does not follow; {NOT_A_LINK}"
    if stat.S_ISFIFO(mode):
        return f"is a named pipe (FIFO), not a file; {NOT_A_LINK}"
    if stat.S_ISCHR(mode) or stat.S_ISBLK(mode):
        return f"is a device, not a file; {NOT_A_LINK}"
    if stat.S_ISSOCK(mode):
        return f"is a socket, not a file; {NOT_A_LINK}"
    if stat.S_ISDIR(mode):
        return "is a folder, not a notebook; the student should submit the .ipynb file itself"
    if not stat.S_ISREG(mode):
        return f"is not a regular file; {NOT_A_LINK}"
    if st.st_nlink > 1:
        return (f"is hard-linked ({st.st_nlink} names for one file), so it may be someone else's file; "
                "submit a copy of the notebook as a regular file of the student's own, not a link")
    return None


def _open_plain(path: Path, root: Path | None = None) -> tuple[int, os.stat_result]:
    """``path`` opened for reading without following a link (none in any folder below ``root`` either) and
    without blocking; raises SubmissionError unless what was opened is a regular file with one link."""
    names = list(path.relative_to(root).parts) if root is not None else [str(path)]
    dir_fd = os.open(root, os.O_RDONLY | os.O_DIRECTORY | os.O_CLOEXEC) if root is not None else None
    try:
        for name in names[:-1]:
            try:
                fd = os.open(name, _OPEN_DIR, dir_fd=dir_fd)
            except OSError as e:
                if e.errno in (errno.ELOOP, errno.ENOTDIR):
                    raise SubmissionError(f"{shown(path)}: {name} is not a folder but a link or a file; "
                                          f"{NOT_A_LINK}") from None
                raise
            os.close(dir_fd)
            dir_fd = fd
        try:
            fd = os.open(names[-1], _OPEN_FILE, dir_fd=dir_fd)
        except OSError as e:
            if e.errno == errno.ELOOP:
                raise SubmissionError(f"{shown(path)}: {_not_plain(os.lstat(path)) or 'is a link'}") from None
            raise
    finally:
        if dir_fd is not None:
            os.close(dir_fd)
    st = os.fstat(fd)
    problem = _not_plain(st)
    if problem:
        os.close(fd)
        raise SubmissionError(f"{shown(path)}: {problem}")
    return fd, st


def sha256(path: Path, root: Path | None = None) -> str:
    """The sha256 of a submission, read as :func:`_open_plain` opens it."""
    fd, _ = _open_plain(path, root)
    try:
        digest = hashlib.sha256()
        while chunk := os.read(fd, 1 << 20):
            digest.update(chunk)
        return digest.hexdigest()
    finally:
        os.close(fd)


def _read_plain(path: Path, root: Path | None, max_bytes: int) -> bytes:
    """At most ``max_bytes`` of a submission, read as :func:`_open_plain` opens it (SubmissionError if longer)."""
    fd, st = _open_plain(path, root)
    try:
        chunks, size = [], 0
        if st.st_size <= max_bytes:
            while size <= max_bytes:
                chunk = os.read(fd, min(1 << 20, max_bytes + 1 - size))
                if not chunk:
                    break
                chunks.append(chunk)
                size += len(chunk)
    finally:
        os.close(fd)
    if st.st_size > max_bytes or size > max_bytes:
        raise SubmissionError(f"{shown(path)}: {max(st.st_size, size)} bytes is larger than the {max_bytes}-byte "
                              "limit; the student should clear the outputs (Edit > Clear Outputs of All Cells), "
                              "save and submit again")
    return b"".join(chunks)


def _not_run(exercise: Exercise, why: str = "the submission could not be read", status: str = "not-run"
             ) -> list[TestResult]:
    return [TestResult(t, 0.0, p, status, why, kind) for t, (p, kind) in exercise.graded.items()]


def _error_row(student: str, name: str, path: Path, checksum: str, message: str,
               exercise: Exercise | None = None, assignment: str = "") -> SubmissionResult:
    row = SubmissionResult(shown(student), shown(name), shown(path), checksum, status="error", message=message,
                           started=now(), finished=now(), assignment=shown(assignment))
    if exercise is not None:
        row.max_points, row.tests = exercise.max_points, _not_run(exercise)
    return row


def _below(folder: Path) -> list[tuple[Path, os.stat_result | None, str | None]]:
    """(path, lstat, problem) of everything below ``folder`` that is not a folder, sorted; no link is followed
    (a link to a folder is listed, not entered), checkpoints are skipped, a folder that cannot be listed is a problem."""
    out, todo = [], [folder]
    while todo:
        here = todo.pop()
        try:
            with os.scandir(here) as it:
                entries = list(it)
        except OSError as e:
            out.append((here, None, f"could not be read ({e.strerror or _describe(e)}); the student should "
                                    "submit the notebook again as a regular file"))
            continue
        for entry in entries:
            if entry.name == ".ipynb_checkpoints":
                continue
            try:
                st = entry.stat(follow_symlinks=False)
            except OSError:  # gone since it was listed
                continue
            if stat.S_ISDIR(st.st_mode):
                todo.append(Path(entry.path))
            else:
                out.append((Path(entry.path), st, None))
    return sorted(out, key=lambda item: item[0])


def _checksum(path: Path, st: os.stat_result, root: Path) -> tuple[str, str | None]:
    """(checksum, None) for a regular file of the student's own, read from ``root`` without following links;
    ("", why) for anything else, or for a file that cannot be read (one file's failure is that file's row)."""
    problem = _not_plain(st)
    if problem is not None:
        return "", problem
    try:
        return sha256(path, root), None
    except SubmissionError as e:
        return "", str(e).removeprefix(f"{shown(path)}: ")
    except Exception as e:  # noqa: BLE001
        return "", (f"could not be read ({getattr(e, 'strerror', None) or _describe(e)}); "
                    "the student should submit the notebook again as a regular file")


def _rename_hint(stem: str, names) -> str:
    """What to rename a notebook named for none of ``names`` to (the closest name), or the names expected."""
    close = difflib.get_close_matches(shown(stem), list(names), n=1, cutoff=0.4)
    return f"rename it to {close[0]}.ipynb" if close else f"expected one of: {', '.join(names)}"


def discover(submissions: Path, exercises: dict[str, Exercise]) -> tuple[list[Submission], list[SubmissionResult]]:
    """``SUBMISSIONS/<student>/<exercise>.ipynb``; anything else becomes an error row naming the file.

    A submission is a regular file of the student's own: a symlink (to a file or a folder, the student's folder
    included), a FIFO, a device, a socket or a file hard-linked from elsewhere is an error row, and what it
    points to is never opened.  A file that cannot be read is an error row too; the run goes on.
    """
    if not submissions.is_dir():
        raise SubmissionError(f"{shown(submissions)}: no such directory; expected SUBMISSIONS/<student>/<NN-name>.ipynb")
    found, errors = [], []
    try:
        with os.scandir(submissions) as it:
            entries = sorted(it, key=lambda e: e.name)
    except OSError as e:
        raise SubmissionError(f"{shown(submissions)}: cannot be listed ({e.strerror or _describe(e)})") from None
    for entry in entries:
        folder = Path(entry.path)
        try:
            st = entry.stat(follow_symlinks=False)
        except OSError:
            continue
        if stat.S_ISLNK(st.st_mode) and os.path.isdir(folder):
            message = (f"{shown(folder)}: the student's folder is a symbolic link to another folder, which the grader "
                       "does not follow; submit the notebooks in a folder of the student's own, not a link")
            errors += [_error_row(entry.name, name, folder, "", message, ex) for name, ex in exercises.items()]
            continue
        if not stat.S_ISDIR(st.st_mode):
            print(f"grader: skipping {shown(folder)}: not in a student folder (expected "
                  f"{shown(submissions)}/<student>/{shown(entry.name)})", file=sys.stderr)
            continue
        for path, st, problem in _below(folder):
            name = path.stem if path.suffix == ".ipynb" else path.name
            exercise = exercises.get(path.stem) if path.suffix == ".ipynb" and path.parent == folder else None
            checksum = ""
            if problem is None:
                checksum, problem = _checksum(path, st, submissions)
            if problem is None and exercise is not None:
                found.append(Submission(shown(entry.name), exercise.name, path, checksum, root=submissions))
                continue
            if problem is None:
                problem = f"no exercise of that name; {_rename_hint(path.stem, exercises)}"
            errors.append(_error_row(entry.name, name, path, checksum, f"{shown(path)}: {problem}", exercise))
    return found, errors


MAX_TIMESTAMP_BYTES = 1000


def _timestamp(folder: Path, root: Path) -> tuple[str, str | None]:
    """(ISO UTC time, problem) from nbgrader's ``timestamp.txt`` in ``folder``; ("", None) when there is none."""
    path = folder / "timestamp.txt"
    if not os.path.lexists(path):
        return "", None
    try:
        text = _read_plain(path, root, MAX_TIMESTAMP_BYTES).decode("utf-8")
        if not text.strip():  # nbgrader reads an empty timestamp.txt as no timestamp (and warns)
            return "", None
        return iso(parse_time(text)), None
    except (SubmissionError, UnicodeDecodeError, LateError, OSError) as e:
        why = str(e).removeprefix(f"{shown(path)}: ") if isinstance(e, SubmissionError) else str(e)
        return "", f"{shown(path)} could not be read ({why}); the submission time is unknown, so no late penalty applies"


def _not_submitted(student: str, exercise: Exercise, folder: Path) -> SubmissionResult:
    """The row of a notebook missing from an assignment the student handed in: 0 of its points, as nbgrader has it."""
    path = folder / f"{exercise.name}.ipynb"
    row = _error_row(student, exercise.name, path, "", f"{shown(path)}: not submitted: the student handed in "
                     f"{exercise.assignment!r} without this notebook, so it counts as 0 of its {exercise.max_points:g} "
                     "point(s), as nbgrader records it", exercise, exercise.assignment)
    row.status, row.tests = NOT_SUBMITTED, _not_run(exercise, "not submitted", NOT_SUBMITTED)
    return row


def discover_course(course: Path, exercises: dict[str, Exercise]) -> tuple[list[Submission], list[SubmissionResult]]:
    """nbgrader's ``COURSE/submitted/<student>/<assignment>/<notebook>.ipynb``, for the assignments of ``exercises``;
    (submissions, rows to record as they are: errors and notebooks not submitted).

    Other files next to the notebooks (``timestamp.txt``, data the student handed in) are not submissions: they
    go beside each notebook when it runs, under the files of ``source/<assignment>/`` that are not notebooks
    (:mod:`grader.assignment_files`).  A notebook the assignment does not have is an error row, and so is a
    notebook, an assignment folder or a student folder that is a link or not a regular file, as in
    :func:`discover`.  A notebook of the assignment missing from a folder that holds others is ``not-submitted``
    (0 of its points), as nbgrader's autograde records it; a student without the assignment's folder has no rows.
    """
    submitted = course / "submitted"
    if not submitted.is_dir():
        raise SubmissionError(f"{shown(submitted)}: no such directory; collect the submissions first "
                              "(nbgrader collect ASSIGNMENT) or copy them to submitted/<student>/<assignment>/")
    assignments = sorted({e.assignment for e in exercises.values()})
    sources = {}
    for assignment in assignments:
        sources[assignment], problems = assignment_files.source_files(course / "source" / assignment)
        for problem in problems:
            print(f"grader: {problem}", file=sys.stderr)
    found, errors = [], []
    for entry in sorted(os.scandir(submitted), key=lambda e: e.name):
        st = entry.stat(follow_symlinks=False)
        if not stat.S_ISDIR(st.st_mode):
            if stat.S_ISLNK(st.st_mode):
                message = (f"{shown(entry.path)}: the student's folder is a symbolic link, which the grader does not "
                           "follow; collect the submissions into folders of the students' own")
                errors += [_error_row(entry.name, e.name, Path(entry.path), "", message, e, e.assignment)
                           for e in exercises.values()]
            continue
        for assignment in assignments:
            folder = Path(entry.path) / assignment
            if not os.path.lexists(folder):
                continue
            mine = {e.name: e for e in exercises.values() if e.assignment == assignment}
            if _not_plain_dir(folder):
                message = f"{shown(folder)}: {_not_plain_dir(folder)}"
                errors += [_error_row(entry.name, n, folder, "", message, e, assignment) for n, e in mine.items()]
                continue
            submitted_at, problem = _timestamp(folder, submitted)
            own, problems = assignment_files.student_files(folder, submitted)
            files = assignment_files.merge(own, sources[assignment])
            notes = tuple(([problem] if problem else []) + problems)
            handed_in = set()
            for path in sorted(folder.iterdir()):
                if path.suffix != ".ipynb":
                    continue
                handed_in.add(path.stem)
                exercise = mine.get(path.stem)
                checksum, why = _checksum(path, os.lstat(path), submitted)
                if why is None and exercise is None:
                    why = f"assignment {assignment!r} has no notebook of that name; {_rename_hint(path.stem, mine)}"
                if why is not None:
                    errors.append(_error_row(entry.name, path.stem, path, checksum, f"{shown(path)}: {why}", exercise,
                                             assignment))
                    continue
                found.append(Submission(shown(entry.name), exercise.name, path, checksum, root=submitted,
                                        assignment=assignment, submitted_at=submitted_at, notes=notes, files=files))
            if handed_in:
                errors += [_not_submitted(entry.name, e, folder) for n, e in mine.items() if n not in handed_in]
    return found, errors


def _not_plain_dir(path: Path) -> str | None:
    st = os.lstat(path)
    if stat.S_ISLNK(st.st_mode):
        return f"is a symbolic link, which the grader does not follow; {NOT_A_LINK}"
    if not stat.S_ISDIR(st.st_mode):
        return "is not a folder; nbgrader keeps each assignment in a folder submitted/<student>/<assignment>/"
    return None


def _nesting(data, limit: int = MAX_NESTING) -> int:
    """How deep ``data`` nests lists and dicts (counting stops past ``limit``), without recursion."""
    deepest, todo = 0, [(data, 1)] if isinstance(data, (dict, list)) else []
    while todo:
        value, depth = todo.pop()
        deepest = max(deepest, depth)
        if depth > limit:
            break
        children = value.values() if isinstance(value, dict) else value
        todo.extend((child, depth + 1) for child in children if isinstance(child, (dict, list)))
    return deepest


def read_submission(path: Path, max_bytes: int = MAX_NOTEBOOK_BYTES, *, checksum: str | None = None,
                    root: Path | None = None):
    """The notebook as nbformat 4 with outputs cleared, and what was unusual about it (flags).

    The file is opened as :func:`discover` checked it (no link followed, below ``root`` either; a regular file
    with one link; never blocking) and parsed from the very bytes read, whose sha256 must be ``checksum`` if
    given.  Every failure, whatever raised it (a parser's RecursionError, MemoryError, a schema error), is a
    :class:`SubmissionError` naming the file and what the student should do.
    """
    where = shown(path)
    try:
        raw = _read_plain(path, root, max_bytes)
        if checksum is not None and hashlib.sha256(raw).hexdigest() != checksum:
            raise SubmissionError(f"{where}: the file changed while the grader was reading it; grade again to grade "
                                  "the new version (the student should not replace it while grading runs)")
        return _parse_notebook(where, raw)
    except SubmissionError:
        raise
    except RecursionError:
        raise SubmissionError(f"{where}: not a notebook: it is nested too deeply to read; {REDOWNLOAD}") from None
    except MemoryError:
        raise SubmissionError(f"{where}: the notebook is too large to read; the student should clear the outputs "
                              "(Edit > Clear Outputs of All Cells), save and submit again") from None
    except OSError as e:
        raise SubmissionError(f"{where}: could not be read ({e.strerror or _describe(e)}); the student should "
                              "submit the notebook again as a regular file") from None
    except Exception as e:  # noqa: BLE001 - whatever a parser raises, it is this submission's error
        raise SubmissionError(f"{where}: not a valid notebook ({_describe(e)}); {REDOWNLOAD}") from None


def _parse_notebook(where: str, raw: bytes):
    if not raw:
        raise SubmissionError(f"{where}: the file is empty; the student should save the notebook and submit it again")
    try:
        text = raw.decode("utf-8")
        data = json.loads(text)
    except UnicodeDecodeError:
        raise SubmissionError(f"{where}: not a notebook (not UTF-8 text); {REDOWNLOAD}") from None
    except json.JSONDecodeError as e:
        raise SubmissionError(f"{where}: not a notebook: invalid JSON at line {e.lineno} ({e.msg}); "
                              f"{REDOWNLOAD}") from None
    if _nesting(data) > MAX_NESTING:
        raise SubmissionError(f"{where}: not a notebook: its JSON nests more than {MAX_NESTING} levels deep; "
                              f"{REDOWNLOAD}")
    flags = []
    version = data.get("nbformat") if isinstance(data, dict) else None
    if type(version) is not int or version not in (3, 4):
        raise SubmissionError(f"{where}: not a Jupyter notebook (nbformat {shown(repr(version)[:40])}); the "
                              "student should re-download the .ipynb from Jupyter and submit it again")
    if version == 3:
        flags.append("the notebook was in nbformat 3 and was converted to nbformat 4")
    try:
        nb = nbformat.reads(text, as_version=4)
        nbformat.validate(nb)
    except Exception as e:  # noqa: BLE001
        raise SubmissionError(f"{where}: not a valid notebook ({_describe(e)}); the student "
                              "should re-download it from Jupyter and submit it again") from None
    kernel = _foreign_kernel(nb.metadata)
    if kernel:
        flags.append(f"the notebook asked for kernel {shown(repr(kernel)[:100])}; it was graded with python3")
    nb, _ = ClearOutputPreprocessor().preprocess(nb, {})
    return nb, flags


PYTHON_KERNELS = ("python", "python3")  # what Jupyter names a Python kernel (JupyterLab writes either)


def _foreign_kernel(metadata) -> str | None:
    """The kernel a notebook asked for if it is not a Python one (None for python, python3 or any kernel whose
    language is Python, such as a conda environment's)."""
    spec = metadata.get("kernelspec")
    if not isinstance(spec, dict):
        return None
    name = spec.get("name", "python3")
    language = spec.get("language") or (metadata.get("language_info") or {}).get("name")
    if name in PYTHON_KERNELS or (isinstance(language, str) and language.lower() == "python"):
        return None
    return name if isinstance(name, str) else repr(name)


@dataclass
class Lateness:
    """When each assignment is due and what lateness costs (the same for the whole run)."""

    due: dict[str, str]  # assignment (or exercise, in the flat layout) or "*" -> ISO UTC due date
    policy: LatePolicy
    submitted_at: dict[tuple[str, str], str]  # (student, assignment or "*") -> ISO UTC, from --submitted-at

    def apply(self, sub: Submission, result: SubmissionResult) -> None:
        name = sub.assignment or sub.exercise
        result.due = self.due.get(name) or self.due.get("*", "")
        result.submitted_at = (self.submitted_at.get((sub.student, name)) or self.submitted_at.get((sub.student, "*"))
                               or sub.submitted_at)
        result.late_policy = str(self.policy) if result.due else ""


NO_LATENESS = Lateness({}, LatePolicy(), {})


def grade_one(worker: Worker, sub: Submission, exercise: Exercise, released, timeout: float, max_bytes: int,
              more_to_come: bool, lateness: Lateness = NO_LATENESS, stderr_fails: bool = False,
              budget: float = DEFAULT_BUDGET) -> tuple[SubmissionResult, str | None]:
    """Read, restore, execute and score one submission; return its result and the executed notebook."""
    result = SubmissionResult(sub.student, sub.exercise, shown(sub.path), sub.checksum,
                              max_points=exercise.max_points, started=now(), assignment=sub.assignment)
    lateness.apply(sub, result)
    try:
        nb, flags = read_submission(sub.path, max_bytes, checksum=sub.checksum, root=sub.root)
    except Exception as e:  # noqa: BLE001 - read_submission makes every failure a SubmissionError; in case not
        message = str(e) if isinstance(e, SubmissionError) else (
            f"{shown(sub.path)}: could not be read ({_describe(e)}); {REDOWNLOAD}")
        result.status, result.message, result.finished = "error", message, now()
        result.tests = _not_run(exercise)
        return result, None
    for attempt in (1, 2):  # a slot that fails before any student code ran is not the student's doing
        try:
            slot = worker.next_slot(more_to_come)
        except SlotError as e:  # two fresh boxes failed to start: this one submission waits for the next run
            worker.failures += 1
            result.status, result.finished = "error", now()
            result.message = (f"{shown(sub.path)}: could not be graded: the grader could not start a cluster for it "
                              f"({e}); run the same command again to grade it")
            result.tests = _not_run(exercise, "not graded (the grader failed)")
            return result, None
        worker.failures = 0
        try:
            graded, state = _grade_on(slot, copy.deepcopy(nb), flags + list(sub.notes), exercise, released, timeout,
                                      stderr_fails, budget, sub.files)
            break
        except KernelNotReady as e:  # the prepared kernel failed before any student code ran
            if attempt == 2:
                result.status, result.finished = "error", now()
                result.message = (f"{shown(sub.path)}: could not be graded: the grader's kernel failed twice before "
                                  f"any of the student's code ran ({e}); run the same command again to grade it")
                result.tests = _not_run(exercise, "not graded (the grader failed)")
                return result, None
            print(f"grader: {sub.student}/{sub.key}: the prepared kernel failed ({e}); "
                  "grading it again on a new one", file=sys.stderr)
    result.tests, result.flags, result.message = state.tests, state.flags, state.message
    result.finished = now()
    return result, write_capped(graded, MAX_EXECUTED_BYTES)


KERNEL_READY_TIMEOUT = 20  # seconds a prepared kernel (already answering, guard installed) has to answer again


def grading(exercise: Exercise, released, slot: Slot, timeout: float, stderr_fails: bool = False,
            budget: float = DEFAULT_BUDGET, files: Path | None = None) -> list:
    """The grading of one submission, step by step; each step reads and adds to the typed grading state.

    The slot supplies only the prepared kernel (with its audit channel), the working directory and a check
    of the submission's limits; where that kernel and its engines run is :mod:`grader.worker`'s business.
    ``files`` is the folder of the assignment's files staged for the submission (:meth:`Slot.stage`), which
    the kernel puts beside the notebook before the first cell.
    """
    return [
        RestoreTests(source=exercise.nb, released=released),
        ScanSubmission(),
        ExecuteSubmission(kernel=slot.km, audit=slot.audit, stop_when=slot.limits_reached, timeout=int(timeout),
                          budget=budget, guard=True, guard_installed=True, startup_timeout=KERNEL_READY_TIMEOUT,
                          files_from=str(files) if files else ""),
        ScoreTests(released=released, stderr_fails=stderr_fails),
    ]


def _grade_on(slot: Slot, nb, flags, exercise: Exercise, released, timeout: float, stderr_fails: bool = False,
              budget: float = DEFAULT_BUDGET, files=()):
    """Stage ``files`` and run :func:`grading` on a prepared slot, which is released afterwards; the notebook and
    the state."""
    state = GradingState(flags=list(flags))
    resources = {"grader": state, "metadata": {"path": str(slot.workdir)}}
    steps = []
    try:
        staged, notes = slot.stage(files)
        for note in notes:
            state.flag(note)
        steps = grading(exercise, released, slot, timeout, stderr_fails, budget, staged)
        for step in steps:
            nb, resources = step.preprocess(nb, resources)
        if not state.limits:  # read before the box closes
            state.limits = slot.limits_reached(
                memory_error=any(r.ename == "MemoryError" for r in state.replies.values()))
    finally:
        for step in steps:
            if isinstance(step, ExecuteSubmission) and step.kc is not None:
                step.kc.stop_channels()
        slot.release()
    return nb, state


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
            r = rows.get(n)
            cells.append("--" if r is None else "ER" if r.status == "error" else "NS" if r.status == NOT_SUBMITTED
                         else f"{r.total:>2g}")
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


def _seconds(grace: str | float) -> float:
    from .late import parse_duration

    return float(grace) if isinstance(grace, (int, float)) else parse_duration(grace)


def due_dates(course: Path | None, given) -> dict[str, str]:
    """Assignment (or "*") -> ISO UTC due date: an nbgrader course's own (its gradebook.db), then ``given``
    (``NAME=WHEN`` or ``WHEN``), which win."""
    dues: dict[str, str] = {}
    if course is not None and (course / "gradebook.db").is_file():
        import sqlite3

        try:
            db = sqlite3.connect(f"file:{course / 'gradebook.db'}?mode=ro", uri=True)
            try:
                for name, when in db.execute("SELECT name, duedate FROM assignment WHERE duedate IS NOT NULL"):
                    dues[name] = iso(parse_time(str(when)))  # nbgrader stores naive UTC
            finally:
                db.close()
        except sqlite3.Error as e:
            print(f"grader grade: {course / 'gradebook.db'}: due dates not read ({e}); pass --due", file=sys.stderr)
    for item in given:
        name, sep, when = item.partition("=")
        if not sep:
            name, when = "*", item
        if not name.strip():
            raise LateError(f"--due {item!r}: expected ASSIGNMENT=WHEN or WHEN")
        dues[name.strip()] = iso(parse_time(when))
    return dues


def read_submitted_at(path: str | Path) -> dict[tuple[str, str], str]:
    """(student, assignment or "*") -> ISO UTC from a CSV with columns student, assignment (optional),
    submitted_at."""
    import csv

    path = Path(path)
    try:
        with open(path, newline="", encoding="utf-8-sig") as f:
            reader = csv.DictReader(f)
            if not reader.fieldnames or not {"student", "submitted_at"} <= set(reader.fieldnames):
                raise LateError(f"{path}: expected columns student, assignment (optional) and submitted_at")
            times = {}
            for line, row in enumerate(reader, start=2):
                if not (row.get("student") or "").strip():
                    raise LateError(f"{path}, line {line}: no student")
                try:
                    when = iso(parse_time(row["submitted_at"] or ""))
                except LateError as e:
                    raise LateError(f"{path}, line {line}: {e}") from None
                times[(row["student"].strip(), (row.get("assignment") or "").strip() or "*")] = when
            return times
    except OSError as e:
        raise LateError(f"{path}: cannot be read ({e.strerror}); pass --submitted-at a CSV file") from None


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
    max_procs: int = DEFAULT_PROCS,
    tmp_bytes: int = DEFAULT_TMP,
    work_bytes: int = DEFAULT_WORK,
    max_bytes: int = MAX_NOTEBOOK_BYTES,
    assignment: str | None = None,
    due: list[str] | tuple[str, ...] = (),
    late_policy: str = "none",
    grace: str | float = 0,
    submitted_at: str | Path | None = None,
    shard: str | None = None,
    cluster: str | None = None,
    budget: float = DEFAULT_BUDGET,
    network: str = "none",
) -> int:
    """Grade what is new or changed (everything with ``force``); return 0, or 1 if any submission failed to grade.

    ``submissions`` is a folder of ``<student>/<NN-name>.ipynb`` (exercises from ``source``), or an nbgrader
    course directory as it is (``source/`` and ``submitted/``; only ``assignment`` if given).

    ``workers`` submissions are graded at once (default: :func:`default_workers`).  Each runs in a sealed
    box (:mod:`procbox.box`) with ``memory`` bytes for all its processes together, ``max_procs``
    processes and threads, ``tmp_bytes`` in /tmp and ``work_bytes`` in its working directory.

    Lateness: ``due`` holds ``ASSIGNMENT=WHEN`` (or ``WHEN`` for all; in the flat layout an exercise is an
    assignment) on top of the due dates of an nbgrader course's own gradebook.db; the time of a submission is
    its ``timestamp.txt`` or a row of the ``submitted_at`` CSV (student, assignment, submitted_at); the
    penalty is ``late_policy`` after ``grace`` (:mod:`grader.late`).

    ``shard`` ``K/N`` grades only the students of share K (0 <= K < N): a share is fixed by the student's
    name alone, so N jobs (a Slurm array, a Kubernetes Indexed Job) grade every student once between them.

    ``cluster`` names the profile of a running ipyparallel cluster whose engines grade the submissions, one
    worker per engine, each in its own sealed boxes on its host (:mod:`grader.remote`).

    ``budget`` is the time one submission's cells may take together (at least ``timeout``); ``network``
    ``"none"`` gives each box a network of its own with loopback only, ``"host"`` the host's (for
    exercises that need the internet).  Before grading, a probe box checks that the sandbox holds
    (:meth:`grader.worker.Slot.check_sealed`); if it does not, or cannot be made, nothing is graded unless
    ``sandbox`` is False, and then every row says it was graded unsealed.
    """
    course = Path(submissions) if is_nbgrader_course(submissions) else None
    try:
        if course is not None:
            exercises = load_course(course, assignment)
            found, errors = discover_course(course, exercises)
        else:
            if assignment is not None:
                raise ExerciseError(f"{submissions}: --assignment is for an nbgrader course (a folder holding "
                                    "source/ and submitted/); this folder has no source/")
            exercises = load_exercises(source)
            found, errors = discover(Path(submissions), exercises)
        lateness = Lateness(due_dates(course, due), LatePolicy.parse(late_policy, _seconds(grace)),
                            read_submitted_at(submitted_at) if submitted_at else {})
        if shard is not None:
            k, n = parse_shard(shard)
            found = [s for s in found if shard_of(s.student, n) == k]
            errors = [e for e in errors if shard_of(e.student, n) == k]
        exercises = autotests.instantiate(exercises, course)  # ### AUTOTEST directives, as nbgrader releases them
        released = {key: nb for key, (nb, _) in student_versions(exercises).items()}
        book = Gradebook(gradebook)
    except (ExerciseError, SubmissionError, GradebookError, LateError, ShardError) as e:
        print(f"grader grade: {e}", file=sys.stderr)
        return 2 if isinstance(e, (SubmissionError, LateError, ShardError)) else 1
    if student:
        found = [s for s in found if s.student == student]
        errors = [e for e in errors if e.student == student]
        if not found and not errors:
            print(f"grader grade: no submissions from {student!r} in {submissions}", file=sys.stderr)
            book.close()
            return 2
    todo = [s for s in found if force or book.checksum_of(s.student, s.exercise, s.assignment) != s.checksum]
    for e in errors:  # errors and notebooks not submitted: recorded as they are
        book.record(e)
    results: list[SubmissionResult] = list(errors)
    skipped = len(found) - len(todo)
    if skipped and not quiet:
        print(f"{skipped} submission(s) already graded and unchanged (use --force to regrade)")
    hidden = instructor_paths(source, submissions, gradebook)
    budget = max(float(budget), float(timeout))
    if cluster is not None:
        return _grade_on_cluster(cluster, todo, exercises, released, book, results, timeout, max_bytes, quiet,
                                 lateness, course is not None,
                                 dict(memory=memory, max_procs=max_procs, tmp_bytes=tmp_bytes, work_bytes=work_bytes,
                                      engines=engines, sandbox=sandbox, network=network), budget)
    for stale in sweep_stale(RUN_PREFIX):  # left by graders that were killed (kill -9): their owner is gone
        if not quiet:
            print(f"grader: removed {stale}, left behind by a grader that was killed", file=sys.stderr)
    try:
        with run_root(RUN_PREFIX) as root, contextlib.ExitStack() as stack:
            policy = BoxPolicy(hide=[*hidden, Path(root)], memory=memory, max_procs=max_procs, tmp_bytes=tmp_bytes,
                               work_bytes=work_bytes, requested=sandbox, network=network)
            if sandbox and not policy.active:
                raise SealError([f"the sandbox cannot be made here: {policy.reason}"])
            if not (quiet and policy.active):
                print(policy.describe(), file=sys.stdout if policy.active else sys.stderr)
            os.chmod(root, 0o711)
            # boxes serve each their own mirror (procbox.box.Service); unboxed slots share one
            mirror_url = "" if policy.active else stack.enter_context(start_mirror()).url
            slots = dict(mirror_url=mirror_url, policy=policy, n_engines=engines)
            results += _run(todo, exercises, released, Path(root), slots, book, timeout, max_bytes,
                            workers or default_workers(len(todo)), quiet, lateness, stderr_fails=course is not None,
                            budget=budget)
    except SealError as e:
        print("grader grade: refusing to grade: the sandbox does not hold here:\n  " + "\n  ".join(e.problems)
              + "\nNothing was graded. Fix the machine (see the threat model in README.md), grade with "
              "--network host if only the network is the problem and the exercises need it, or pass --no-sandbox "
              "to grade unconfined (every row then says so).", file=sys.stderr)
        book.close()
        return 1
    except (ClusterError, SlotError) as e:
        print(f"\ngrader grade: the grader's own cluster failed ({e}). This is not a student's fault; every "
              "submission graded so far is in the gradebook; run the same command again to grade the rest.",
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


def _grade_on_cluster(profile, todo, exercises, released, book, results, timeout, max_bytes, quiet, lateness,
                      stderr_fails, options, budget: float = DEFAULT_BUDGET) -> int:
    """Grade ``todo`` on the engines of the cluster ``profile`` (see :func:`main`); the exit code."""
    from . import remote

    def job_for(sub: Submission):
        try:
            data = _read_plain(sub.path, sub.root, max_bytes)
        except Exception as e:  # noqa: BLE001 - this submission's error row, as when graded here
            message = str(e) if isinstance(e, SubmissionError) else f"{shown(sub.path)}: could not be read ({_describe(e)})"
            row = _error_row(sub.student, sub.exercise, sub.path, sub.checksum, message, exercises[sub.key],
                             sub.assignment)
            book.record(row)
            results.append(row)
            return None
        files, notes = assignment_files.with_data(sub.files, options["work_bytes"] // 2)
        return remote.Job(sub.student, sub.exercise, sub.assignment, shown(sub.path), data, sub.checksum,
                          nbformat.writes(exercises[sub.key].nb), nbformat.writes(released[sub.key]),
                          sub.submitted_at, tuple(sub.notes) + tuple(notes), timeout, max_bytes, lateness,
                          stderr_fails, options, budget, files)

    try:
        client = remote.connect(profile)
    except remote.RemoteClusterError as e:
        print(f"grader grade: {e}", file=sys.stderr)
        book.close()
        return 1
    try:
        if not quiet:
            print(f"grading {len(todo)} submission(s) on the {len(client.ids)} engine(s) of cluster {profile!r}")
        results += remote.run_on_cluster(client, todo, job_for, book.record, quiet=quiet)
    except remote.RemoteClusterError as e:
        print(f"\ngrader grade: {e}. Every submission graded so far is in the gradebook.", file=sys.stderr)
        return 1
    except KeyboardInterrupt:
        print("\ngrader grade: interrupted. Every submission graded so far is in the gradebook; "
              "run the same command again to grade the rest.", file=sys.stderr)
        return 130
    finally:
        client.close()
        book.close()
    if not quiet:
        _print_summary(results, exercises)
    return 1 if any(r.status == "error" for r in results) else 0


MAX_SLOT_FAILURES = 3  # a worker whose boxes failed to start this many times in a row: the machine, not a student


def _run(todo, exercises, released, root, slot_options, book, timeout, max_bytes, workers, quiet,
         lateness: Lateness = NO_LATENESS, stderr_fails: bool = False, budget: float = DEFAULT_BUDGET):
    """Grade ``todo`` on ``workers`` workers (threads, each with its own clusters); record each result as it comes.

    With the sandbox on, a probe box first checks that it holds (SealError if not); with it off, every row says so.
    A submission whose slot could not be started is an error row and the run goes on; a worker whose slots fail
    MAX_SLOT_FAILURES times in a row ends the run (SlotError): then it is the machine."""
    jobs: queue.Queue = queue.Queue()
    for sub in todo:
        jobs.put(sub)
    results, lock, stop = [], threading.Lock(), threading.Event()
    bar = Progress(len(todo), "grading", quiet=quiet)
    policy = slot_options["policy"]
    crews = [Worker(root / f"worker-{i}", **slot_options) for i in range(max(1, min(workers, len(todo) or 1)))]
    if policy.active and todo:
        try:
            problems = crews[0].check_sealed()
        except BaseException:
            for w in crews:
                w.close()
            raise
        if problems:
            for w in crews:
                w.close()
            raise SealError(problems)

    def work(worker: Worker) -> None:
        try:
            take(worker)
        finally:
            close_thread_loop()

    def take(worker: Worker) -> None:
        for sub in drain(jobs):
            if stop.is_set():
                return
            outcome = grade_one(worker, sub, exercises[sub.key], released[sub.key], timeout, max_bytes,
                                more_to_come=not jobs.empty(), lateness=lateness, stderr_fails=stderr_fails,
                                budget=budget)
            if not policy.active:
                outcome[0].flags.append(UNSEALED)
            with lock:
                if stop.is_set():  # interrupted: what ran during the stop is not a grade
                    return
                book.record(*outcome)
                results.append(outcome[0])
                bar.update(f"{sub.student}/{sub.key} {outcome[0].total:g}/{outcome[0].possible:g}")
            if worker.failures >= MAX_SLOT_FAILURES:
                raise SlotError(f"{worker.failures} boxes in a row failed to start (the last for {sub.student}/"
                                f"{sub.key}, recorded as an error)")

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
