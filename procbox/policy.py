"""What boxes may be on this machine and what they are limited to: :class:`BoxPolicy` (probed once: namespaces, cgroups,
root), the default limits, the network modes, and the minimal environment every boxed process starts with."""

from __future__ import annotations

import os
import re
import subprocess
import sys
from dataclasses import dataclass, field
from pathlib import Path

from procbox import rootfs
from procbox.resources import own_cgroups, sweep_stale_cgroups
from procbox.syscalls import (
    CLONE_NEWNET,
    CLONE_NEWNS,
    CLONE_NEWPID,
    CLONE_NEWUSER,
    MS_NODEV,
    MS_NOEXEC,
    MS_NOSUID,
    loopback_up,
    map_ids,
    mount,
    unshare,
)

DEFAULT_MEMORY = 2 * 1024**3  # all processes of one submission together
DEFAULT_PROCS = 512  # processes and threads of one submission together (a box needs about 70)


DEFAULT_TMP = 256 * 1024**2  # bytes in /tmp (with /var/tmp and /dev/shm)


DEFAULT_WORK = 512 * 1024**2  # bytes in the working directory
ROOT_DIR = ".root"  # in a run directory: the empty folder a box's root is built on
ENV_ALLOW = ("PATH", "PYTHONPATH", "LANG", "LANGUAGE", "LC_ALL", "LC_CTYPE", "TZ", "TERM")


NETWORKS = {"none": "a network namespace of its own with loopback only (no route out, no other box)",
            "host": "the host's network (--network host: routes out, other boxes' ports on 127.0.0.1)"}





def parse_size(text: str | int) -> int:
    """``512M``, ``2G``, ``1.5GiB`` or a number of bytes."""
    if isinstance(text, int):
        return text
    m = re.fullmatch(r"\s*(\d+(?:\.\d+)?)\s*([kKmMgGtT]?)(?:i?[bB])?\s*", str(text))
    if not m:
        raise ValueError(f"not a size: {text!r} (use e.g. 512M or 2G)")
    return int(float(m.group(1)) * 1024 ** " KMGT".index(m.group(2).upper() or " "))


def minimal_env(**extra: str) -> dict[str, str]:
    """The environment student code gets: an allowlist of the grader's, plus ``extra``; nothing else."""
    env = {k: v for k, v in os.environ.items() if k in ENV_ALLOW or k.startswith("LC_")}
    env.setdefault("PATH", os.defpath)
    env["PATH"] = os.pathsep.join(dict.fromkeys([os.path.dirname(sys.executable), *env["PATH"].split(os.pathsep)]))
    env.setdefault("LANG", "C.UTF-8")
    env.update({"PYTHONUNBUFFERED": "1", "PYDEVD_DISABLE_FILE_VALIDATION": "1", **extra})
    return env


@dataclass
class BoxPolicy:
    """What student code may see and use, and which of the protections this machine allows.

    ``mode`` is ``"root"`` (namespaces, a uid per slot, cgroups where writable),
    ``"userns"`` (not root, but unprivileged user namespaces work: namespaces,
    one uid, no cgroups unless delegated) or ``"off"`` (process groups and
    per-process limits only); ``reason`` says why a protection is off.

    A box's file system is built from an allowlist (:mod:`procbox.rootfs`): ``hide`` lists
    what must never show in it (the sources, the submissions, the gradebook ...), which the
    grader's sealing check (:func:`check_sealed`) looks for.  ``network`` is ``"none"`` (a
    network namespace per box with loopback only) or ``"host"``.
    """

    hide: list[Path] = field(default_factory=list)
    memory: int = DEFAULT_MEMORY
    max_procs: int = DEFAULT_PROCS
    tmp_bytes: int = DEFAULT_TMP
    work_bytes: int = DEFAULT_WORK
    requested: bool = True
    network: str = "none"
    mode: str = "off"
    cgroups: dict = field(default_factory=dict)
    reason: str = ""
    read_only: list[str] = field(default_factory=list)  # the allowlist: read-only paths of every box's root

    def __post_init__(self):
        if self.network not in NETWORKS:
            raise ValueError(f"network {self.network!r}: expected one of {', '.join(NETWORKS)}")
        if not self.requested:
            self.reason = "switched off"
        elif not sys.platform.startswith("linux"):
            self.reason = "needs Linux"
        else:
            self.mode, self.reason = _probe()
            if self.mode != "off":
                self.cgroups = own_cgroups()
                sweep_stale_cgroups(self.cgroups)
                self.read_only = rootfs.allowlist()

    @property
    def active(self) -> bool:
        return self.mode != "off"

    @property
    def own_network(self) -> bool:
        return self.active and self.network == "none"

    @property
    def per_process_memory(self) -> int:
        """A single process may use half the box's memory: it gets a MemoryError before the box is full."""
        return self.memory // 2 if self.active else self.memory

    def describe(self) -> str:
        mib = lambda n: f"{n // 2**20} MiB"  # noqa: E731
        if not self.active:
            return (f"sandbox: off ({self.reason}): student code runs as this user, unconfined, and can read what "
                    f"it can read, including the exercise sources and the gradebook, and reach the network; "
                    f"memory is still limited to {mib(self.memory)} per process")
        uids = "a uid per slot" if self.mode == "root" else "in a user namespace, one uid: the grader is not root"
        on = [f"a PID namespace per submission ({uids})",
              f"a root file system of its own (the Python installation read-only, {len(self.hide)} instructor "
              f"path(s) checked hidden)", NETWORKS[self.network], f"a private /tmp of {mib(self.tmp_bytes)}",
              f"a working directory of {mib(self.work_bytes)}", "a minimal environment"]
        limits = (f"memory {mib(self.memory)} and {self.max_procs} processes per submission" if len(self.cgroups) == 2
                  else f"memory {mib(self.per_process_memory)} per process and {self.max_procs} processes per uid "
                       f"(no writable cgroup for {', '.join(sorted({'memory', 'pids'} - set(self.cgroups)))})")
        return "sandbox: on: " + ", ".join(on) + f"; limits: {limits}"

    def root_spec(self, run_dir: Path, workdir: Path, uid: int, gid: int, read_write=()) -> dict:
        """What :func:`procbox.rootfs.build_root` builds for a box of this policy in ``run_dir``."""
        return {"root": str(run_dir / ROOT_DIR), "read_only": list(self.read_only),
                "read_write": [str(run_dir), *map(str, read_write)], "hide": [str(p) for p in self.hide],
                "work": str(workdir), "work_bytes": self.work_bytes, "tmp_bytes": self.tmp_bytes, "uid": uid,
                "gid": gid}


_PROBED: tuple[str, str] | None = None


def _probe() -> tuple[str, str]:
    """Can this process make a box here?  Try one (a child that unshares and mounts), once per process."""
    global _PROBED
    if _PROBED is None:
        code = ("import sys; from procbox.policy import _probe_child; sys.exit(_probe_child())")
        try:
            out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=30,
                                 cwd=os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
            ok = out.returncode == 0 and out.stdout.strip() == "ok"
            why = (out.stderr or out.stdout).strip().splitlines()[-1:] or ["no output"]
        except (OSError, subprocess.SubprocessError) as e:
            ok, why = False, [repr(e)]
        mode = ("root" if os.geteuid() == 0 else "userns") if ok else "off"
        _PROBED = (mode, "" if ok else f"namespaces are not available here: {why[0][-200:]}")
    return _PROBED


def _probe_child() -> int:
    flags = CLONE_NEWNS | CLONE_NEWPID | CLONE_NEWNET | (0 if os.geteuid() == 0 else CLONE_NEWUSER)
    uid, gid = os.getuid(), os.getgid()
    unshare(flags)
    if flags & CLONE_NEWUSER:
        map_ids(uid, gid)
    loopback_up()
    mount(None, "/", None, 1 << 14 | 1 << 18)  # MS_REC | MS_PRIVATE
    mount("tmpfs", "/tmp", "tmpfs", MS_NOSUID | MS_NODEV, "size=1m,mode=1777")
    pid = os.fork()
    if pid == 0:
        mount("proc", "/proc", "proc", MS_NOSUID | MS_NODEV | MS_NOEXEC)
        os._exit(0 if os.getpid() == 1 else 3)
    _, status = os.waitpid(pid, 0)
    print("ok" if status == 0 else f"the box init was not PID 1 ({status})")
    return 0 if status == 0 else 1
