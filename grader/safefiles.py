"""Files from students, opened safely: never through a link, never a FIFO or a device, within a size limit.

A submission folder is the student's: anything in it may be a symbolic link to the instructor's files, a FIFO
that blocks a reader for ever, or a file that grows while it is read.  Everything here opens relative to the
submissions folder without following links (``O_NOFOLLOW`` on every component), checks what it opened
(``fstat``) before reading, and reads at most the limit it is given; a problem is a :class:`SubmissionError`
whose message says what the student should do.
"""

from __future__ import annotations

import errno
import hashlib
import os
import stat
from pathlib import Path

NOT_A_LINK = "submit the notebook itself, as a regular file in the student's own folder, not a link"
_OPEN_FILE = os.O_RDONLY | os.O_NOFOLLOW | os.O_NONBLOCK | os.O_CLOEXEC | getattr(os, "O_NOCTTY", 0)
_OPEN_DIR = os.O_RDONLY | os.O_NOFOLLOW | os.O_DIRECTORY | os.O_CLOEXEC


class SubmissionError(ValueError):
    """This one submission cannot be graded (the message says why and what to do)."""


def shown(path) -> str:
    """A path or name as text that can be printed and stored (bytes that are not UTF-8 as ``\\xNN``)."""
    return os.fsencode(os.fspath(path)).decode("utf-8", "backslashreplace")


def describe_error(e: BaseException) -> str:
    """``Type: message``, short, for any exception (a schema error's message, never its whole instance)."""
    try:
        text = getattr(e, "message", None)
        text = text if isinstance(text, str) else str(e)
    except Exception:  # a message that cannot even be made (too deep, say)
        text = ""
    text = shown(text[:200]).replace("\n", " ")
    return f"{type(e).__name__}: {text}" if text else type(e).__name__


def not_plain(st: os.stat_result) -> str | None:
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


def open_plain(path: Path, root: Path | None = None) -> tuple[int, os.stat_result]:
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
            assert dir_fd is not None  # only a path below root has folders to walk, and then root is open
            os.close(dir_fd)
            dir_fd = fd
        try:
            fd = os.open(names[-1], _OPEN_FILE, dir_fd=dir_fd)
        except OSError as e:
            if e.errno == errno.ELOOP:
                raise SubmissionError(f"{shown(path)}: {not_plain(os.lstat(path)) or 'is a link'}") from None
            raise
    finally:
        if dir_fd is not None:
            os.close(dir_fd)
    st = os.fstat(fd)
    problem = not_plain(st)
    if problem:
        os.close(fd)
        raise SubmissionError(f"{shown(path)}: {problem}")
    return fd, st


def sha256(path: Path, root: Path | None = None) -> str:
    """The sha256 of a submission, read as :func:`open_plain` opens it."""
    fd, _ = open_plain(path, root)
    try:
        digest = hashlib.sha256()
        while chunk := os.read(fd, 1 << 20):
            digest.update(chunk)
        return digest.hexdigest()
    finally:
        os.close(fd)


def read_plain(path: Path, root: Path | None, max_bytes: int) -> bytes:
    """At most ``max_bytes`` of a submission, read as :func:`open_plain` opens it (SubmissionError if longer)."""
    fd, st = open_plain(path, root)
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


def below(folder: Path) -> list[tuple[Path, os.stat_result | None, str | None]]:
    """(path, lstat, problem) of everything below ``folder`` that is not a folder, sorted; no link is followed
    (a link to a folder is listed, not entered), checkpoints are skipped, a folder that cannot be listed is a
    problem."""
    out: list[tuple[Path, os.stat_result | None, str | None]] = []
    todo = [folder]
    while todo:
        here = todo.pop()
        try:
            with os.scandir(here) as it:
                entries = list(it)
        except OSError as e:
            out.append((here, None, f"could not be read ({e.strerror or describe_error(e)}); the student should "
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
