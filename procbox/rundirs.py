"""Run roots: temporary directories that say who owns them, so a killed owner's can be removed later.

:func:`run_root` is :class:`tempfile.TemporaryDirectory` for a run that may be
ended by ``kill -9``: the directory (mode 0o711) holds an owner record, the PID
and start time of the process that made it, and when the run ends normally the
directory goes as usual.  When the owner was SIGKILLed instead, the directory
stays; :func:`sweep_stale` (called at the start of the next run, and by
``course cluster stop``) removes every root whose owner is gone.

A root is removed only when all of these hold, so that nothing else is ever touched:

- its name starts with the prefix, it is a directory and not a symlink, and it
  belongs to the user sweeping;
- it holds a well-formed owner record (a regular file, not a link) written in
  this PID namespace; a root without one (being made right now, or made by
  something else) is left alone;
- the owner is gone: no process has that PID, or the one that has it started at
  another time (the PID was reused), or it is a zombie;
- nothing is mounted inside it.

What cannot be removed (files of another user on a filesystem that refuses,
say) is logged, never raised.
"""

from __future__ import annotations

import contextlib
import json
import logging
import os
import shutil
import stat
import sys
import tempfile
from pathlib import Path

import psutil

log = logging.getLogger(__name__)

PREFIX = "grader-"  # the grader's run roots (the name is all this layer knows of the grader)
OWNER_FILE = ".procbox-owner.json"
MODE = 0o711
_MAX_RECORD = 4096
_SAME_START = 0.01  # seconds: create times of one process agree exactly; another process's differ by more


def _pid_namespace() -> str | None:
    try:
        return os.readlink("/proc/self/ns/pid")
    except OSError:
        return None


def owner_record() -> dict:
    """Who this process is, as a run root records it."""
    me = psutil.Process()
    return {"pid": me.pid, "create_time": me.create_time(), "pidns": _pid_namespace()}


@contextlib.contextmanager
def run_root(prefix: str = PREFIX, dir: str | os.PathLike | None = None, mode: int = MODE):
    """A new directory ``<tmp>/<prefix>XXXX`` (mode ``mode``) recording its owner; removed on exit."""
    root = Path(tempfile.mkdtemp(prefix=prefix, dir=dir))
    try:
        os.chmod(root, mode)
        tmp = root / f"{OWNER_FILE}.tmp"
        fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_EXCL | os.O_NOFOLLOW, 0o644)
        with os.fdopen(fd, "w") as f:
            json.dump(owner_record(), f)
        os.replace(tmp, root / OWNER_FILE)  # a sweeper sees a whole record or none
        yield root
    finally:
        remove(root)


def read_owner(root: Path) -> dict | None:
    """The owner record of ``root``, or None if it has none that can be trusted."""
    try:
        fd = os.open(root / OWNER_FILE, os.O_RDONLY | os.O_NOFOLLOW | os.O_NONBLOCK | os.O_CLOEXEC)
    except OSError:
        return None
    try:
        st = os.fstat(fd)
        if not stat.S_ISREG(st.st_mode) or st.st_size > _MAX_RECORD:
            return None
        record = json.loads(os.read(fd, _MAX_RECORD + 1))
    except (OSError, ValueError):
        return None
    finally:
        os.close(fd)
    if not (isinstance(record, dict) and type(record.get("pid")) is int and record["pid"] > 0
            and type(record.get("create_time")) in (int, float)):
        return None
    return record


def owner_alive(record: dict) -> bool:
    """Whether the process that wrote ``record`` still runs (not merely a process with its PID)."""
    try:
        proc = psutil.Process(record["pid"])
        return (abs(proc.create_time() - record["create_time"]) < _SAME_START
                and proc.status() != psutil.STATUS_ZOMBIE)
    except psutil.NoSuchProcess:
        return False
    except psutil.Error:  # it exists but cannot be inspected: count it as alive
        return True


def _unescape_mount(path: str) -> str:
    """/proc/self/mountinfo writes space, tab, newline and backslash as octal escapes."""
    for code, char in (("\\040", " "), ("\\011", "\t"), ("\\012", "\n"), ("\\134", "\\")):
        path = path.replace(code, char)
    return path


def mounts_under(root: Path) -> list[str]:
    """Mount points at or below ``root`` in this mount namespace."""
    top = os.path.realpath(root)
    found = []
    try:
        with open("/proc/self/mountinfo") as f:
            for line in f:
                fields = line.split()
                if len(fields) > 4:
                    point = _unescape_mount(fields[4])
                    if point == top or point.startswith(top.rstrip("/") + "/"):
                        found.append(point)
    except OSError:
        pass
    return found


def remove(root: Path) -> bool:
    """Remove ``root`` and everything in it, logging what could not be removed; True if it is gone."""
    failed: list[str] = []

    def note(function, path, exc_info):
        exc = exc_info if isinstance(exc_info, BaseException) else exc_info[1]
        if not isinstance(exc, FileNotFoundError):
            failed.append(f"{path}: {exc}")

    if sys.version_info >= (3, 12):
        shutil.rmtree(root, onexc=note)
    else:
        shutil.rmtree(root, onerror=note)
    for line in failed[:20]:
        log.warning("could not remove %s", line)
    if len(failed) > 20:
        log.warning("... and %d more paths under %s", len(failed) - 20, root)
    return not os.path.lexists(root)


def sweep_stale(prefix: str = PREFIX, dir: str | os.PathLike | None = None) -> list[Path]:
    """Remove the run roots ``<dir>/<prefix>*`` whose owner is gone (see the module's docstring); return them."""
    top = Path(dir if dir is not None else tempfile.gettempdir())
    me, pidns = os.geteuid(), _pid_namespace()
    removed: list[Path] = []
    try:
        entries = sorted(os.scandir(top), key=lambda e: e.name)
    except OSError as e:
        log.warning("could not look for stale run directories in %s: %s", top, e)
        return removed
    for entry in entries:
        if not entry.name.startswith(prefix):
            continue
        try:
            st = entry.stat(follow_symlinks=False)
        except OSError:
            continue
        if not stat.S_ISDIR(st.st_mode) or st.st_uid != me:
            continue
        root = Path(entry.path)
        record = read_owner(root)
        if record is None or record.get("pidns") != pidns or owner_alive(record):
            continue
        mounted = mounts_under(root)
        if mounted:
            log.warning("not removing %s, whose owner (pid %s) is gone: %s is mounted in it",
                        root, record["pid"], mounted[0])
            continue
        if remove(root):
            removed.append(root)
        else:
            log.warning("could not remove all of %s, left by pid %s", root, record["pid"])
    return removed


def give_to(top: Path, uid: int, gid: int) -> None:
    """Give a run directory (or one file), and everything in it, to a box's uid, so that its processes can use it;
    nothing to do unless this process is root (then the boxes run as this user)."""
    if os.geteuid() != 0:
        return
    os.chown(top, uid, gid)
    for folder, dirs, files in os.walk(top):
        for name in dirs + files:
            os.lchown(os.path.join(folder, name), uid, gid)
