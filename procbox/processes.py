"""The processes a cluster started, as records that survive the process that made them (:class:`Proc`, saved in
a :class:`StateFile`), and how they are stopped: by process group and PID, with the token every one of them carries
in its environment, never by name."""

from __future__ import annotations

import contextlib
import json
import os
import signal
import time
from dataclasses import asdict, dataclass
from pathlib import Path

import psutil

from ._launch import die_with_parent

TOKEN_VAR = "COURSE_CLUSTER_TOKEN"  # every process of a cluster, and their children, inherit it


class ClusterError(RuntimeError):
    """The cluster could not be started, reached or verified."""


@dataclass
class Proc:
    """One process the cluster started: enough to find it again, and only it."""

    role: str  # "controller" or "engine"
    pid: int
    create_time: float
    engine_id: int | None = None
    ns_pid: int | None = None  # its PID inside a sealed box (what os.getpid() says there)

    def process(self) -> psutil.Process | None:
        """The live process, or None if it exited (or its PID now belongs to another process)."""
        try:
            proc = psutil.Process(self.pid)
            if abs(proc.create_time() - self.create_time) > 0.01 or proc.status() == psutil.STATUS_ZOMBIE:
                return None
            return proc
        except psutil.Error:
            return None

    def alive(self) -> bool:
        return self.process() is not None


class StateFile:
    """A dataclass of a cluster's processes, saved as JSON (atomically) and loaded back with its Procs."""

    PROC_LISTS: tuple[str, ...] = ()

    @classmethod
    def load(cls, path: Path):
        """The state saved at ``path``, or None if there is none (or it is unreadable)."""
        try:
            raw = json.loads(path.read_text())
        except (FileNotFoundError, json.JSONDecodeError):
            return None
        raw["controller"] = Proc(**raw["controller"]) if raw.get("controller") else None
        for name in cls.PROC_LISTS:
            raw[name] = [Proc(**p) for p in raw.get(name, [])]
        return cls(**raw)

    def save(self, path: Path) -> None:
        path.parent.mkdir(parents=True, exist_ok=True)
        tmp = path.with_suffix(".tmp")
        tmp.write_text(json.dumps(asdict(self), indent=2))  # type: ignore[call-overload]  # subclasses are dataclasses
        os.replace(tmp, path)


def die_with(owner_pid: int):
    """preexec_fn: SIGKILL this child when the thread that started it exits."""

    def preexec():
        die_with_parent()
        if os.getppid() != owner_pid:  # the owner died before prctl took effect
            os._exit(1)

    return preexec


def complete_json(path: Path) -> bool:
    """True once the controller has finished writing this connection file (it is not written atomically)."""
    try:
        return isinstance(json.loads(path.read_text()), dict)
    except (OSError, ValueError):
        return False


def carrying(token: str) -> list[psutil.Process]:
    """Processes whose environment carries this cluster's token: its own and whatever they spawned."""
    if not token:
        return []
    found = []
    for proc in psutil.process_iter():
        try:
            if proc.environ().get(TOKEN_VAR) == token and proc.status() != psutil.STATUS_ZOMBIE:
                found.append(proc)
        except psutil.Error:
            continue
    return found


def _running(proc: psutil.Process) -> bool:
    try:
        return proc.is_running() and proc.status() != psutil.STATUS_ZOMBIE
    except psutil.Error:
        return False


def _group_members(leaders: list[Proc]) -> list[psutil.Process]:
    """Live processes in the process groups the leaders started (the leader itself may be gone)."""
    since = {p.pid: p.create_time - 0.01 for p in leaders}
    members = []
    for proc in psutil.process_iter(["pid", "create_time"]):
        try:
            pgid = os.getpgid(proc.pid)
            if pgid in since and proc.info["create_time"] >= since[pgid] and proc.status() != psutil.STATUS_ZOMBIE:
                members.append(proc)
        except (psutil.Error, ProcessLookupError):
            continue
    return members


def stop_carrying(token: str, grace: float = 3) -> None:
    """Stop every process whose environment carries ``token`` (whatever a process given it started, however it
    detached): SIGTERM, then SIGKILL to those still there after ``grace`` seconds, and wait for them.  By PID."""
    procs = carrying(token)
    for proc in procs:
        with contextlib.suppress(psutil.Error):
            proc.terminate()
    _, alive = psutil.wait_procs(procs, timeout=grace)
    for proc in alive:
        with contextlib.suppress(psutil.Error):
            proc.kill()
    psutil.wait_procs(alive, timeout=grace)


def kill_groups(procs: list[Proc], grace: float, token: str = "", spare: int | None = None) -> None:
    """SIGTERM each process group the cluster started, wait up to ``grace`` s, then SIGKILL what is left.

    Groups whose leader already died are found by their members (a controller
    killed alone leaves its heart monitor behind).  Then any process still carrying
    the cluster's token (a child that left its group) is killed, by PID; ``spare``
    is a PID to leave alone (the fork server, which carries the token too).
    """
    members = _group_members(procs)
    pgids = set()
    for m in members:
        with contextlib.suppress(ProcessLookupError):
            pgids.add(os.getpgid(m.pid))
    for sig in (signal.SIGTERM, signal.SIGKILL):
        if not members:
            break
        for pgid in pgids:
            with contextlib.suppress(ProcessLookupError, PermissionError):
                os.killpg(pgid, sig)
        deadline = time.monotonic() + (grace if sig == signal.SIGTERM else 5)
        while members and time.monotonic() < deadline:
            members = [m for m in members if _running(m)]
            if members:
                time.sleep(0.02)
    for proc in carrying(token):
        if proc.pid != spare:
            with contextlib.suppress(psutil.Error):
                proc.kill()
