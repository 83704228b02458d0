"""Intake: find a class's submissions in either layout, open them safely, and read them as notebooks.

Two layouts: this course's flat ``SUBMISSIONS/<student>/<NN-name>.ipynb`` against ``--source exercises/``,
and an nbgrader course as it is, ``COURSE/source/<assignment>/`` and
``COURSE/submitted/<student>/<assignment>/<notebook>.ipynb`` with ``timestamp.txt``.  Files are opened
from the submissions folder without following links (a link, a FIFO or a device is an error row that
says what to do), read within a size limit, and parsed with limits on nesting; a notebook that cannot be
graded becomes an error row for that one submission, never an exception that ends the run.  A notebook
left out of an nbgrader assignment that was handed in is recorded as not submitted, with 0 of its points.
"""

from __future__ import annotations

import difflib
import hashlib
import json
import os
import stat
import sys
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path

import nbformat
from nbconvert.preprocessors import ClearOutputPreprocessor

from . import assignment_files
from .exercise import Exercise
from .late import LateError, iso, parse_time
from .options import MAX_NOTEBOOK_BYTES
from .results import NOT_SUBMITTED, SubmissionResult, TestResult
from .safefiles import (
    NOT_A_LINK,
    SubmissionError,
    below,
    describe_error,
    not_plain,
    read_plain,
    sha256,
    shown,
)

MAX_NESTING = 100  # levels of lists and objects a notebook's JSON may nest (real notebooks: about 10)
REDOWNLOAD = "the student should re-download the .ipynb from Jupyter (File > Download) and submit it again"


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
    return datetime.now(UTC).isoformat(timespec="seconds")


def not_run(exercise: Exercise, why: str = "the submission could not be read", status: str = "not-run"
             ) -> list[TestResult]:
    return [TestResult(t, 0.0, p, status, why, kind) for t, (p, kind) in exercise.graded.items()]


def error_row(student: str, name: str, path: Path, checksum: str, message: str,
               exercise: Exercise | None = None, assignment: str = "") -> SubmissionResult:
    row = SubmissionResult(shown(student), shown(name), shown(path), checksum, status="error", message=message,
                           started=now(), finished=now(), assignment=shown(assignment))
    if exercise is not None:
        row.max_points, row.tests = exercise.max_points, not_run(exercise)
    return row


def _checksum(path: Path, st: os.stat_result, root: Path) -> tuple[str, str | None]:
    """(checksum, None) for a regular file of the student's own, read from ``root`` without following links;
    ("", why) for anything else, or for a file that cannot be read (one file's failure is that file's row)."""
    problem = not_plain(st)
    if problem is not None:
        return "", problem
    try:
        return sha256(path, root), None
    except SubmissionError as e:
        return "", str(e).removeprefix(f"{shown(path)}: ")
    except Exception as e:
        return "", (f"could not be read ({getattr(e, 'strerror', None) or describe_error(e)}); "
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
        raise SubmissionError(f"{shown(submissions)}: no such directory; "
                              "expected SUBMISSIONS/<student>/<NN-name>.ipynb")
    found, errors = [], []
    try:
        with os.scandir(submissions) as it:
            entries = sorted(it, key=lambda e: e.name)
    except OSError as e:
        raise SubmissionError(f"{shown(submissions)}: cannot be listed ({e.strerror or describe_error(e)})") from None
    for entry in entries:
        folder = Path(entry.path)
        try:
            st = entry.stat(follow_symlinks=False)
        except OSError:
            continue
        if stat.S_ISLNK(st.st_mode) and os.path.isdir(folder):
            message = (f"{shown(folder)}: the student's folder is a symbolic link to another folder, which the grader "
                       "does not follow; submit the notebooks in a folder of the student's own, not a link")
            errors += [error_row(entry.name, name, folder, "", message, ex) for name, ex in exercises.items()]
            continue
        if not stat.S_ISDIR(st.st_mode):
            print(f"grader: skipping {shown(folder)}: not in a student folder (expected "
                  f"{shown(submissions)}/<student>/{shown(entry.name)})", file=sys.stderr)
            continue
        for path, lst, problem in below(folder):
            name = path.stem if path.suffix == ".ipynb" else path.name
            exercise = exercises.get(path.stem) if path.suffix == ".ipynb" and path.parent == folder else None
            checksum = ""
            if problem is None:
                assert lst is not None  # below() gives an lstat wherever it names no problem
                checksum, problem = _checksum(path, lst, submissions)
            if problem is None and exercise is not None:
                found.append(Submission(shown(entry.name), exercise.name, path, checksum, root=submissions))
                continue
            if problem is None:
                problem = f"no exercise of that name; {_rename_hint(path.stem, exercises)}"
            errors.append(error_row(entry.name, name, path, checksum, f"{shown(path)}: {problem}", exercise))
    return found, errors


MAX_TIMESTAMP_BYTES = 1000


def _timestamp(folder: Path, root: Path) -> tuple[str, str | None]:
    """(ISO UTC time, problem) from nbgrader's ``timestamp.txt`` in ``folder``; ("", None) when there is none."""
    path = folder / "timestamp.txt"
    if not os.path.lexists(path):
        return "", None
    try:
        text = read_plain(path, root, MAX_TIMESTAMP_BYTES).decode("utf-8")
        if not text.strip():  # nbgrader reads an empty timestamp.txt as no timestamp (and warns)
            return "", None
        return iso(parse_time(text)), None
    except (SubmissionError, UnicodeDecodeError, LateError, OSError) as e:
        why = str(e).removeprefix(f"{shown(path)}: ") if isinstance(e, SubmissionError) else str(e)
        return "", (f"{shown(path)} could not be read ({why}); the submission time is unknown, "
                    "so no late penalty applies")


def _not_submitted(student: str, exercise: Exercise, folder: Path) -> SubmissionResult:
    """The row of a notebook missing from an assignment the student handed in: 0 of its points, as nbgrader has it."""
    path = folder / f"{exercise.name}.ipynb"
    row = error_row(student, exercise.name, path, "", f"{shown(path)}: not submitted: the student handed in "
                     f"{exercise.assignment!r} without this notebook, so it counts as 0 of its {exercise.max_points:g} "
                     "point(s), as nbgrader records it", exercise, exercise.assignment)
    row.status, row.tests = NOT_SUBMITTED, not_run(exercise, "not submitted", NOT_SUBMITTED)
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
                errors += [error_row(entry.name, e.name, Path(entry.path), "", message, e, e.assignment)
                           for e in exercises.values()]
            continue
        for assignment in assignments:
            folder = Path(entry.path) / assignment
            if not os.path.lexists(folder):
                continue
            mine = {e.name: e for e in exercises.values() if e.assignment == assignment}
            if _not_plain_dir(folder):
                message = f"{shown(folder)}: {_not_plain_dir(folder)}"
                errors += [error_row(entry.name, n, folder, "", message, e, assignment) for n, e in mine.items()]
                continue
            submitted_at, stamp_problem = _timestamp(folder, submitted)
            own, problems = assignment_files.student_files(folder, submitted)
            files = assignment_files.merge(own, sources[assignment])
            notes = tuple(([stamp_problem] if stamp_problem else []) + problems)
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
                    errors.append(error_row(entry.name, path.stem, path, checksum, f"{shown(path)}: {why}", exercise,
                                             assignment))
                    continue
                assert exercise is not None  # no problem: the notebook is one of the assignment's
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
        raw = read_plain(path, root, max_bytes)
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
        raise SubmissionError(f"{where}: could not be read ({e.strerror or describe_error(e)}); the student should "
                              "submit the notebook again as a regular file") from None
    except Exception as e:  # whatever a parser raises, it is this submission's error
        raise SubmissionError(f"{where}: not a valid notebook ({describe_error(e)}); {REDOWNLOAD}") from None


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
    except Exception as e:
        raise SubmissionError(f"{where}: not a valid notebook ({describe_error(e)}); the student "
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
