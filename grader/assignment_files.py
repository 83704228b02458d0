"""The files of an nbgrader assignment beside each notebook while it is graded, as nbgrader's autograde has them.

nbgrader's autograde runs a student's notebooks in a folder that holds, first, every other file the student handed
in with them (data they wrote, a module of their own, subfolders) and then, over those, every file of
``source/<assignment>/`` that is not a notebook (the instructor's data files, images, helper modules): where
both have a file, the instructor's wins.  Neither brings notebooks, nor what nbgrader ignores
(:data:`IGNORE`, its ``CourseDirectory.ignore``).

Here :func:`source_files` and :func:`student_files` list them when the submissions are found, and :func:`merge`
settles which one wins; once a submission has its slot, :func:`stage` copies them into a folder of the slot's
run directory, and before the notebook's first cell the kernel copies that folder into its working directory
(:mod:`procbox.place_files`), which the engines share.  A student's files are read as submissions are: no link is
followed (a link, a FIFO or a device is not copied, and a flag says so), nothing is opened outside the student's
own folder, and the copy is capped in number (:data:`MAX_FILES`) and in bytes (what the slot's working directory
can hold).  Nothing of one student's reaches another's run: each run directory is the submission's own.
"""

from __future__ import annotations

import fnmatch
import os
import stat
from dataclasses import dataclass
from pathlib import Path, PurePosixPath

from .safefiles import below, open_plain, shown

IGNORE = (".ipynb_checkpoints", "*.pyc", "__pycache__", "feedback")  # nbgrader's CourseDirectory.ignore
NOTEBOOKS = "*.ipynb"  # nbgrader copies no notebook beside the one it grades, at any depth
MAX_FILES = 1000  # files of a student's beside the notebooks; more are not copied (and flagged)
MAX_PROBLEMS = 20  # flags about a student's files that were not copied (links, FIFOs ...), at most
_OPEN = os.O_RDONLY | os.O_NOFOLLOW | os.O_NONBLOCK | os.O_CLOEXEC | getattr(os, "O_NOCTTY", 0)


@dataclass(frozen=True)
class AssignmentFile:
    name: str  # its path below the assignment's folder, "/"-separated
    path: Path | None = None  # where it is read from (None: ``data`` holds it)
    student: bool = False  # the student's (read below ``root`` without following a link) or the instructor's
    root: Path | None = None
    data: bytes | None = None  # its bytes, when it travels to another host's grader
    executable: bool = False


def ignored(name: str, patterns=IGNORE + (NOTEBOOKS,)) -> bool:
    """Whether nbgrader leaves a file or folder of this name out: it matches a pattern, where (as in glob) a
    wildcard does not match a leading dot."""
    for pattern in patterns:
        if name.startswith(".") and not pattern.startswith(".") and any(ch in pattern for ch in "*?["):
            continue
        if fnmatch.fnmatchcase(name, pattern):
            return True
    return False


def _why_not(st: os.stat_result, student: bool) -> str | None:
    if stat.S_ISLNK(st.st_mode):
        return "it is a symbolic link, which the grader does not follow"
    if not stat.S_ISREG(st.st_mode):
        return "it is not a regular file"
    if student and st.st_nlink > 1:
        return f"it is hard-linked ({st.st_nlink} names for one file), so it may be someone else's file"
    return None


def source_files(folder: Path) -> tuple[list[AssignmentFile], list[str]]:
    """(files, problems): what of ``source/<assignment>/`` nbgrader puts beside the notebooks it grades; a link
    there is not followed but named in the problems, with what to do."""
    files, problems = [], []
    for top, dirs, names in os.walk(folder):  # a link to a folder is listed in dirs, never entered
        here = Path(top)
        for name in sorted(dirs):
            if ignored(name):
                dirs.remove(name)
            elif (here / name).is_symlink():
                dirs.remove(name)
                problems.append(f"{here / name}: a symbolic link to a folder is not put beside the notebooks; "
                                "copy the folder itself into the assignment")
        dirs.sort()
        for name in sorted(names):
            path = here / name
            if ignored(name):
                continue
            try:
                st = os.lstat(path)
            except OSError as e:
                problems.append(f"{path}: cannot be read ({e.strerror}); it is not put beside the notebooks")
                continue
            why = _why_not(st, student=False)
            if why:
                problems.append(f"{path}: not put beside the notebooks: {why}; put the file itself there")
                continue
            files.append(AssignmentFile(path.relative_to(folder).as_posix(), path,
                                        executable=bool(st.st_mode & 0o111)))
    return files, problems


def student_files(folder: Path, root: Path) -> tuple[list[AssignmentFile], list[str]]:
    """(files, problems): what the student handed in beside the notebooks of ``folder`` (below ``root``, the
    folder of every student's submissions), listed without following a link; each file that is not copied
    is named in the problems."""

    files: list[AssignmentFile]
    files, problems, beyond = [], [], 0
    for path, st, problem in below(folder):
        parts = path.relative_to(folder).parts
        if any(ignored(part) for part in parts):
            continue
        if st is None:  # below() gives no lstat only with a problem (a folder it could not list)
            why = problem
        else:
            why = problem or _why_not(st, student=True)
        if why:
            problems.append(f"{shown(path)}: not put beside the notebook: {why}")
        elif len(files) >= MAX_FILES:
            beyond += 1
        else:
            assert st is not None  # no problem, so below() gave its lstat
            files.append(AssignmentFile("/".join(parts), path, student=True, root=root,
                                        executable=bool(st.st_mode & 0o111)))
    if len(problems) > MAX_PROBLEMS:
        problems[MAX_PROBLEMS:] = [f"{shown(folder)}: {len(problems) - MAX_PROBLEMS} more file(s) not put beside the "
                                   "notebook (links or not regular files)"]
    if beyond:
        problems.append(f"{shown(folder)}: {beyond} file(s) not put beside the notebook: the student handed in more "
                        f"than {MAX_FILES} files with the notebooks")
    return files, problems


def merge(student: list[AssignmentFile], source: list[AssignmentFile]) -> tuple[AssignmentFile, ...]:
    """The student's files and the source's, the source's winning: a student's file goes where the source has a
    file of that name, a folder holding one, or a file where the student's would need a folder."""
    names = {f.name for f in source}
    folders = {str(p) for f in source for p in PurePosixPath(f.name).parents if str(p) != "."}
    kept = [f for f in student if f.name not in names and f.name not in folders
            and not any(str(p) in names for p in PurePosixPath(f.name).parents)]
    return tuple(kept) + tuple(source)


def with_data(files, max_bytes: int) -> tuple[tuple[AssignmentFile, ...], list[str]]:
    """``files`` read into memory to send them to another host, as :func:`stage` reads them and within the same
    cap: (the files, what was left out and why, as flags)."""
    out, notes, left = [], [], max_bytes
    for f in sorted(files, key=lambda f: f.student):
        try:
            data = b"".join(_chunks(f, left))
        except Exception as e:  # that file is left out and the run goes on
            notes.append(_not_copied(f, e, max_bytes))
            continue
        left -= len(data)
        out.append(AssignmentFile(f.name, None, f.student, None, data, f.executable))
    return tuple(out), notes


def _not_copied(f: AssignmentFile, e: BaseException, max_bytes: int) -> str:

    where = shown(f.path) if f.path is not None else f.name
    if isinstance(e, _TooLarge):
        why = (f"the assignment's files would take more than {max_bytes} bytes, half the working directory (grade "
               "with a larger --work-bytes)")
    else:
        why = getattr(e, "strerror", None) or str(e).removeprefix(f"{where}: ") or type(e).__name__
    return f"{where}: not put beside the notebook: {why}"


class _TooLarge(ValueError):
    pass


def _chunks(f: AssignmentFile, limit: int | None = None):
    """The bytes of ``f`` in pieces, opened without following any link; _TooLarge once past ``limit``."""
    if f.data is not None:
        if limit is not None and len(f.data) > limit:
            raise _TooLarge
        yield f.data
        return
    assert f.path is not None  # an AssignmentFile without data has a path (see the class)
    if f.student:

        fd, _ = open_plain(f.path, f.root)
    else:
        fd = os.open(f.path, _OPEN)
        if not stat.S_ISREG(os.fstat(fd).st_mode):
            os.close(fd)
            raise ValueError("it is not a regular file")
    size = 0
    try:
        while chunk := os.read(fd, 1 << 20):
            size += len(chunk)
            if limit is not None and size > limit:
                raise _TooLarge
            yield chunk
    finally:
        os.close(fd)


def stage(files, folder: Path, max_bytes: int) -> list[str]:
    """Copy ``files`` into the new ``folder`` (the instructor's first, so that the cap never drops them for the
    student's); return what was not copied and why, as flags."""
    folder.mkdir(mode=0o755)
    notes, left = [], max_bytes
    for f in sorted(files, key=lambda f: f.student):
        target = folder.joinpath(*f.name.split("/"))
        target.parent.mkdir(mode=0o755, parents=True, exist_ok=True)
        size = 0
        try:
            with open(os.open(target, os.O_WRONLY | os.O_CREAT | os.O_EXCL | os.O_NOFOLLOW | os.O_CLOEXEC,
                              0o755 if f.executable else 0o644), "wb") as out:
                for chunk in _chunks(f, left):
                    out.write(chunk)
                    size += len(chunk)
        except Exception as e:  # whatever it is, that file is not copied and the run goes on
            target.unlink(missing_ok=True)
            notes.append(_not_copied(f, e, max_bytes))
            continue
        left -= size
    return notes
