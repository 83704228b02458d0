"""What each box holds on the machine: a cgroup of its own (memory, processes) where cgroups can be written, and a
uid of its own taken with a lock file (:class:`UidLease`).  Stale ones, left by a grader that was killed, are swept."""

from __future__ import annotations

import contextlib
import fcntl
import os
import re
import signal
import tempfile
import time
from pathlib import Path

UID_BASE, UID_COUNT = 3_000_000, 4096  # one uid per slot, taken with a lock file
LOCK_DIR = Path(os.environ.get("PROCBOX_LOCK_DIR", "/run/procbox" if os.path.isdir("/run") else tempfile.gettempdir()))


def own_cgroups() -> dict[str, Path]:
    """Writable cgroup directories of this process for the controllers a box needs: {"memory": dir, "pids": dir}."""
    mine = {}
    with contextlib.suppress(OSError):
        for line in Path("/proc/self/cgroup").read_text().splitlines():
            _, controllers, path = line.split(":", 2)
            for c in controllers.split(",") if controllers else ["unified"]:
                mine[c] = path
    found = {}
    with contextlib.suppress(OSError):
        for line in Path("/proc/self/mountinfo").read_text().splitlines():
            left, _, right = line.partition(" - ")
            fstype, _, options = right.split(" ", 2)
            mount_point, root = left.split()[4], left.split()[3]
            if fstype == "cgroup":
                for c in ("memory", "pids"):
                    if c in options.split(",") and c in mine:
                        found[c] = Path(mount_point) / os.path.relpath(mine[c], root).lstrip("./")
            elif fstype == "cgroup2" and "unified" in mine:
                base = Path(mount_point) / os.path.relpath(mine["unified"], root).lstrip("./")
                with contextlib.suppress(OSError):
                    enabled = (base / "cgroup.subtree_control").read_text().split()
                    for c in ("memory", "pids"):
                        if c in enabled:
                            found.setdefault(c, base)
    return {c: p for c, p in found.items() if os.access(p, os.W_OK)}


class Cgroup:
    """One box's cgroups (v1 hierarchies or v2), with its memory and pids limits; removed by :meth:`remove`."""

    def __init__(self, name: str, memory: int, procs: int, bases: dict[str, Path]):
        self.dirs: dict[str, Path] = {}
        try:
            for controller, base in bases.items():
                path = base / name
                path.mkdir(exist_ok=True)
                self.dirs[controller] = path
            self.v2 = any((p / "memory.max").exists() or (p / "pids.max").exists() for p in self.dirs.values())
            if "memory" in self.dirs:
                m = self.dirs["memory"]
                if (m / "memory.max").exists():
                    (m / "memory.max").write_text(str(memory))
                    with contextlib.suppress(OSError):
                        (m / "memory.swap.max").write_text("0")
                else:
                    (m / "memory.limit_in_bytes").write_text(str(memory))
                    with contextlib.suppress(OSError):
                        (m / "memory.memsw.limit_in_bytes").write_text(str(memory))
            if "pids" in self.dirs:
                (self.dirs["pids"] / "pids.max").write_text(str(procs))
        except OSError as e:
            self.remove()
            raise BoxError(f"could not set up the cgroup {name}: {e}") from e

    @property
    def procs_files(self) -> list[str]:
        return sorted({str(p / "cgroup.procs") for p in self.dirs.values()})

    def _read(self, controller: str, name: str) -> str:
        try:
            return (self.dirs[controller] / name).read_text()
        except (KeyError, OSError):
            return ""

    def hits(self) -> list[str]:
        """Which limits were hit so far: "memory", "pids"."""
        hit = []
        events = self._read("memory", "memory.events") + self._read("memory", "memory.oom_control")
        m = re.search(r"oom_kill (\d+)", events)  # a process was killed: reclaiming page cache is no hit
        if m:
            if int(m.group(1)) > 0:
                hit.append("memory")
        elif re.search(r"under_oom 1", events):  # an old kernel without the count
            hit.append("memory")
        m = re.search(r"max (\d+)", self._read("pids", "pids.events"))
        if m and int(m.group(1)) > 0:
            hit.append("pids")
        return hit

    def members(self) -> list[int]:
        pids: set[int] = set()
        for path in self.procs_files:
            with contextlib.suppress(OSError):
                pids.update(int(p) for p in Path(path).read_text().split())
        return sorted(pids)

    def remove(self) -> None:
        for path in self.dirs.values():
            _rmdir_when_empty(path, tries=50)
        self.dirs = {}


def _rmdir_when_empty(path: Path, tries: int) -> bool:
    """Remove a cgroup directory, waiting (10 ms at a time) while its last processes finish dying; True if gone."""
    for _ in range(tries):
        try:
            path.rmdir()
            return True
        except FileNotFoundError:
            return False
        except OSError:  # still has processes
            time.sleep(0.01)
    return False


def sweep_stale_cgroups(bases: dict[str, Path]) -> list[Path]:
    """Remove box cgroups (``procbox-<owner pid>-...``) whose owner is gone (a grader killed with SIGKILL)."""
    removed = []
    for base in set(bases.values()):
        with contextlib.suppress(OSError):
            for path in base.glob("procbox-*-*"):
                m = re.match(r"procbox-(\d+)-", path.name)
                if not m or alive(int(m.group(1))):
                    continue
                with contextlib.suppress(OSError):
                    for pid in (path / "cgroup.procs").read_text().split():  # a box that outlived its grader
                        with contextlib.suppress(OSError):
                            os.kill(int(pid), signal.SIGKILL)
                if _rmdir_when_empty(path, tries=100):
                    removed.append(path)
    return removed


class UidLease:
    """A uid of the box range held by this process (a lock file) until :meth:`release`; shared by no other slot."""

    def __init__(self):
        LOCK_DIR.mkdir(mode=0o755, parents=True, exist_ok=True)
        start = (os.getpid() * 7) % UID_COUNT
        for i in range(UID_COUNT):
            n = (start + i) % UID_COUNT
            fd = os.open(LOCK_DIR / f"uid-{UID_BASE + n}.lock", os.O_RDWR | os.O_CREAT | os.O_CLOEXEC, 0o600)
            try:
                fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
            except BlockingIOError:
                os.close(fd)
                continue
            self.uid = self.gid = UID_BASE + n
            self._fd = fd
            return
        raise BoxError(f"all {UID_COUNT} box uids are in use (lock files in {LOCK_DIR})")

    def release(self) -> None:
        if self._fd is not None:
            os.close(self._fd)
            self._fd = None


class BoxError(RuntimeError):
    """A box could not be made or reached (the grader's infrastructure, not a student's doing)."""


def _stat(pid: int) -> list[bytes] | None:
    """The fields of /proc/PID/stat after the command name (state first), or None if there is no such process."""
    try:
        with open(f"/proc/{pid}/stat", "rb") as f:
            return f.read().rsplit(b")", 1)[1].split()
    except (OSError, IndexError):
        return None


def alive(pid: int, start: int | None = None) -> bool:
    """True while ``pid`` exists and is not a zombie (and, with ``start``, is still the process that
    :func:`start_time` saw: PIDs wrap around, and a busy grader goes through a pid_max of 32768 in minutes)."""
    fields = _stat(pid)
    return fields is not None and fields[0] != b"Z" and (start is None or int(fields[19]) == start)


def start_time(pid: int) -> int | None:
    """When ``pid`` started (clock ticks since boot): with its PID, what names one process for good."""
    fields = _stat(pid)
    return int(fields[19]) if fields else None


def kill_if_same(pid: int | None, start: int | None, sig: int = signal.SIGKILL) -> None:
    """Send ``sig`` to ``pid`` only while it is the process that started at ``start`` (never to a process that
    took its PID after it ended); nothing if it has gone."""
    if pid is not None and start is not None and alive(pid, start):
        with contextlib.suppress(ProcessLookupError, PermissionError):
            os.kill(pid, sig)
