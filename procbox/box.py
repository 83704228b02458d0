"""Sealed boxes: every process of one submission in a PID namespace, a cgroup and a uid of its own.

A box is made by the warm fork server (:mod:`procbox.forkserver`), so what runs
in it (controller, engines, kernel) is still a ``fork()`` of a process that has
imported ipyparallel, ipykernel and numpy once.  The chain is::

    grader --(unix socket)--> box init (PID 1 of the box) --fork--> controller, engines, kernel
       \\--(pipe)--> fork server --fork--> box parent (P) --fork--/

The box parent P, still in the grader's PID namespace, joins the box's cgroups,
connects to the grader's socket, unshares a mount, PID and IPC namespace (and, when
the grader is not root, a user namespace), sets up the box's file system (hidden
instructor paths, a size-capped private ``/tmp`` shared by ``/var/tmp`` and
``/dev/shm``, a size-capped working directory) and forks the box init, which is
PID 1 of the new namespace and mounts a ``/proc`` that shows only the box.  The
init forks each requested process, which drops to the box's uid before it runs.

What that gives, whatever student code does:

- it cannot see, signal, stop or trace a process outside its box (they are not
  in its PID namespace), nor the box init (PID 1 ignores signals from inside and
  is not dumpable);
- when the grader closes the socket (or dies), the init exits, and the kernel
  kills every process of the namespace, however it detached (``setsid``, double
  fork, an empty environment);
- memory (all processes together, ``/tmp`` and the working directory included,
  which are tmpfs) and the number of processes and threads are limited per box
  by cgroups where the machine lets us create them, else per process and uid.

:class:`BoxPolicy` says what the machine allows (probed once) and what the
limits are; :class:`Box` is the grader's handle on one box.
"""

from __future__ import annotations

import contextlib
import fcntl
import json
import os
import pwd
import re
import secrets
import select
import signal
import socket
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass, field
from pathlib import Path

from procbox._launch import CHILD_SIGNALS, child_main, die_with_parent, start_session
from procbox.forkserver import _reap
from procbox.jail import _check, _libc, _mount, confine_box

DEFAULT_MEMORY = 2 * 1024**3  # all processes of one submission together
DEFAULT_PROCS = 512  # processes and threads of one submission together (a box needs about 70)
DEFAULT_TMP = 256 * 1024**2  # bytes in /tmp (with /var/tmp and /dev/shm)
DEFAULT_WORK = 512 * 1024**2  # bytes in the working directory
UID_BASE, UID_COUNT = 3_000_000, 4096  # one uid per slot, taken with a lock file
LOCK_DIR = Path(os.environ.get("PROCBOX_LOCK_DIR", "/run/procbox" if os.path.isdir("/run") else tempfile.gettempdir()))
ENV_ALLOW = ("PATH", "PYTHONPATH", "LANG", "LANGUAGE", "LC_ALL", "LC_CTYPE", "TZ", "TERM")

CLONE_NEWNS, CLONE_NEWUSER, CLONE_NEWPID, CLONE_NEWIPC = 0x00020000, 0x10000000, 0x20000000, 0x08000000
MS_NOSUID, MS_NODEV, MS_NOEXEC, MS_BIND = 2, 4, 8, 4096
PR_SET_DUMPABLE, PR_SET_NO_NEW_PRIVS = 4, 38


class BoxError(RuntimeError):
    """A box could not be made or reached (the grader's infrastructure, not a student's doing)."""


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


# -- cgroups -------------------------------------------------------------------------------------------

def _own_cgroups() -> dict[str, Path]:
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
        pids = set()
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
                if not m or _alive(int(m.group(1))):
                    continue
                with contextlib.suppress(OSError):
                    for pid in (path / "cgroup.procs").read_text().split():  # a box that outlived its grader
                        with contextlib.suppress(OSError):
                            os.kill(int(pid), signal.SIGKILL)
                if _rmdir_when_empty(path, tries=100):
                    removed.append(path)
    return removed


# -- uids ------------------------------------------------------------------------------------------------

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


# -- the policy --------------------------------------------------------------------------------------------

@dataclass
class BoxPolicy:
    """What student code may see and use, and which of the protections this machine allows.

    ``mode`` is ``"root"`` (namespaces, a uid per slot, cgroups where writable),
    ``"userns"`` (not root, but unprivileged user namespaces work: namespaces,
    one uid, no cgroups unless delegated) or ``"off"`` (process groups and
    per-process limits only); ``reason`` says why a protection is off.
    """

    hide: list[Path] = field(default_factory=list)
    memory: int = DEFAULT_MEMORY
    max_procs: int = DEFAULT_PROCS
    tmp_bytes: int = DEFAULT_TMP
    work_bytes: int = DEFAULT_WORK
    requested: bool = True
    mode: str = "off"
    cgroups: dict = field(default_factory=dict)
    reason: str = ""

    def __post_init__(self):
        if not self.requested:
            self.reason = "switched off"
        elif not sys.platform.startswith("linux"):
            self.reason = "needs Linux"
        else:
            self.mode, self.reason = _probe()
            if self.mode != "off":
                self.cgroups = _own_cgroups()
                sweep_stale_cgroups(self.cgroups)

    @property
    def active(self) -> bool:
        return self.mode != "off"

    @property
    def per_process_memory(self) -> int:
        """A single process may use half the box's memory: it gets a MemoryError before the box is full."""
        return self.memory // 2 if self.active else self.memory

    def describe(self) -> str:
        mib = lambda n: f"{n // 2**20} MiB"  # noqa: E731
        if not self.active:
            return (f"sandbox: off ({self.reason}): student code runs as this user, unconfined, and can read what "
                    f"it can read, including the exercise sources and the gradebook; memory is still limited to "
                    f"{mib(self.memory)} per process")
        on = [f"a PID namespace per submission ({'a uid per slot' if self.mode == 'root' else 'in a user namespace, one uid: the grader is not root'})",
              f"{len(self.hide)} instructor path(s) hidden", f"a private /tmp of {mib(self.tmp_bytes)}",
              f"a working directory of {mib(self.work_bytes)}", "a minimal environment"]
        limits = (f"memory {mib(self.memory)} and {self.max_procs} processes per submission" if len(self.cgroups) == 2
                  else f"memory {mib(self.per_process_memory)} per process and {self.max_procs} processes per uid "
                       f"(no writable cgroup for {', '.join(sorted({'memory', 'pids'} - set(self.cgroups)))})")
        return "sandbox: on: " + ", ".join(on) + f"; limits: {limits}"

    def mounts(self, run_dir: Path, workdir: Path, uid: int, gid: int) -> dict:
        return {"hide": [str(p) for p in self.hide], "keep": [str(run_dir)], "tmp_bytes": self.tmp_bytes,
                "work": str(workdir), "work_bytes": self.work_bytes, "uid": uid, "gid": gid}


def _probe() -> tuple[str, str]:
    """Can this process make a box here?  Try one (a child that unshares and mounts), once per process."""
    global _PROBED
    if _PROBED is None:
        code = ("import sys; from procbox.box import _probe_child; sys.exit(_probe_child())")
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


_PROBED: tuple[str, str] | None = None


def _probe_child() -> int:
    flags = CLONE_NEWNS | CLONE_NEWPID | (0 if os.geteuid() == 0 else CLONE_NEWUSER)
    uid, gid = os.getuid(), os.getgid()
    _unshare(flags)
    if flags & CLONE_NEWUSER:
        _map_ids(uid, gid)
    _mount(None, "/", None, 1 << 14 | 1 << 18)  # MS_REC | MS_PRIVATE
    _mount("tmpfs", "/tmp", "tmpfs", MS_NOSUID | MS_NODEV, "size=1m,mode=1777")
    pid = os.fork()
    if pid == 0:
        _mount("proc", "/proc", "proc", MS_NOSUID | MS_NODEV | MS_NOEXEC)
        os._exit(0 if os.getpid() == 1 else 3)
    _, status = os.waitpid(pid, 0)
    print("ok" if status == 0 else f"the box init was not PID 1 ({status})")
    return 0 if status == 0 else 1


# -- system calls ----------------------------------------------------------------------------------------------

def _unshare(flags: int) -> None:
    _check(_libc.unshare(flags), "unshare")


def _map_ids(uid: int, gid: int) -> None:
    """In a new user namespace: keep our own uid and gid (no root inside, no other ids)."""
    Path("/proc/self/uid_map").write_text(f"{uid} {uid} 1")
    with contextlib.suppress(FileNotFoundError):
        Path("/proc/self/setgroups").write_text("deny")
    Path("/proc/self/gid_map").write_text(f"{gid} {gid} 1")


def _host_pid(host_proc: int) -> int:
    """This process's PID as the grader sees it (``self`` in the grader's /proc, opened before the box)."""
    return int(os.readlink("self", dir_fd=host_proc))


# -- inside: the box parent and the box init (forked from the fork server; never return) ---------------------------

def run_box(request: dict) -> None:
    """The box parent P: cgroups, the grader's socket, namespaces, mounts; then fork the box init and wait for it."""

    def body() -> int:
        spec = request["box"]
        start_session(request["log"])
        die_with_parent()
        for procs in spec["cgroup_procs"]:
            Path(procs).write_text(str(os.getpid()))
        conn = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        conn.connect(spec["socket"])
        host_proc = os.open("/proc", os.O_RDONLY | os.O_DIRECTORY)
        uid, gid = os.getuid(), os.getgid()
        userns = os.geteuid() != 0
        _unshare(CLONE_NEWNS | CLONE_NEWPID | CLONE_NEWIPC | (CLONE_NEWUSER if userns else 0))
        if userns:
            _map_ids(uid, gid)
        confine_box(spec["mounts"])
        pid = os.fork()
        if pid == 0:
            child_main(lambda: _box_init(conn, host_proc, spec))
        conn.close()
        os.close(host_proc)
        while True:
            try:
                return os.waitstatus_to_exitcode(os.waitpid(pid, 0)[1])
            except ChildProcessError:
                return 0
            except InterruptedError:
                continue

    child_main(body)


def _box_init(conn: socket.socket, host_proc: int, spec: dict) -> None:
    """PID 1 of the box: fork what the grader asks for, reap orphans, return (ending the box) when the grader goes."""
    die_with_parent()
    _libc.prctl(PR_SET_DUMPABLE, 0, 0, 0, 0)
    for sig in CHILD_SIGNALS:
        if sig != signal.SIGCHLD:
            signal.signal(sig, signal.SIG_IGN)
    _mount("proc", "/proc", "proc", MS_NOSUID | MS_NODEV | MS_NOEXEC)
    conn.sendall((json.dumps({"init": _host_pid(host_proc)}) + "\n").encode())
    reader = conn.makefile("r")
    while True:
        _reap()
        readable, _, _ = select.select([conn], [], [], 0.5)
        if not readable:
            continue
        line = reader.readline()
        if not line:
            return  # PID 1 exits: the kernel kills everything else in the box
        request = {**json.loads(line), "box": spec}  # the limits and uid are the box's, whatever was asked
        conn.sendall((json.dumps(_spawn_in_box(request, conn, host_proc)) + "\n").encode())


def _spawn_in_box(request: dict, conn: socket.socket, host_proc: int) -> dict:
    read_end, write_end = os.pipe()
    try:
        sys.stdout.flush()
        sys.stderr.flush()
        pid = os.fork()
    except OSError as e:
        os.close(read_end)
        os.close(write_end)
        return {"error": repr(e)}
    if pid == 0:
        def body():
            os.close(read_end)
            os.write(write_end, str(_host_pid(host_proc)).encode())
            for fd in (write_end, host_proc):  # nothing of the init's reaches student code
                os.close(fd)
            conn.close()
            _become(request)

        child_main(body)
    os.close(write_end)
    with os.fdopen(read_end, "rb") as f:
        host = f.read()
    if not host:
        return {"error": f"the {request['role']} exited before it started"}
    return {"pid": int(host), "ns_pid": pid}


def _become(request: dict) -> None:
    """In a process the init forked: its own session, the box's uid and limits, then the role it was asked for."""
    import resource

    start_session(request["log"])
    os.environ.clear()
    os.environ.update(request["env"])
    spec = request["box"]
    limits = spec["limits"]
    if limits.get("data"):
        resource.setrlimit(resource.RLIMIT_DATA, (limits["data"], limits["data"]))
    resource.setrlimit(resource.RLIMIT_CORE, (0, 0))
    resource.setrlimit(resource.RLIMIT_FSIZE, (limits["fsize"], limits["fsize"]))
    if os.geteuid() == 0:
        uid, gid = spec["mounts"]["uid"], spec["mounts"]["gid"]
        os.setgroups([])
        os.setgid(gid)
        os.setuid(uid)
    if limits.get("nproc"):
        resource.setrlimit(resource.RLIMIT_NPROC, (limits["nproc"], limits["nproc"]))
    _libc.prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0)
    die_with_parent()  # after setuid, which clears it; the parent is the box init
    if os.getppid() != 1:
        os._exit(1)
    os.chdir(request["cwd"])
    from procbox._launch import run

    run(request["role"], request["argv"])


# -- outside: the grader's handle on one box ---------------------------------------------------------------------------

class Box:
    """One sealed box, made by ``forkserver`` (a :class:`procbox.forkserver.ForkServer`) for ``policy``.

    :meth:`spawn` starts a process in it; :meth:`close` ends it and everything in it.
    """

    def __init__(self, forkserver, policy: BoxPolicy, *, run_dir: Path, workdir: Path, uid: int, gid: int,
                 name: str, log: Path, timeout: float = 20):
        self.policy = policy
        self.cgroup = Cgroup(name, policy.memory, policy.max_procs, policy.cgroups) if policy.cgroups else None
        self.parent_pid = self.init_pid = None
        self._conn = None
        self._workdir = workdir
        sock_path = _socket_dir() / f"box-{os.getpid()}-{secrets.token_hex(6)}.sock"  # short: AF_UNIX's 108 bytes
        listener = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        try:
            sock_path.unlink(missing_ok=True)
            listener.bind(str(sock_path))
            os.chmod(sock_path, 0o600)  # the box's parent runs as this user: nobody else may connect
            listener.listen(1)
            limits = {"data": policy.per_process_memory, "fsize": max(policy.work_bytes, policy.tmp_bytes),
                      "nproc": 0 if (self.cgroup and "pids" in self.cgroup.dirs) else policy.max_procs}
            spec = {"socket": str(sock_path), "mounts": policy.mounts(run_dir, workdir, uid, gid), "limits": limits,
                    "cgroup_procs": self.cgroup.procs_files if self.cgroup else []}
            self.parent_pid = forkserver.spawn("box", [], env={}, cwd="/", log=str(log), box=spec)
            listener.settimeout(0.05)
            deadline = time.monotonic() + timeout
            while self._conn is None:
                try:
                    self._conn, _ = listener.accept()
                except socket.timeout:
                    if not _alive(self.parent_pid):
                        raise BoxError(f"the box's parent exited as it started; see {log}: {_tail(log)}") from None
                    if time.monotonic() > deadline:
                        raise BoxError(f"the box did not start in {timeout:.0f} s; see {log}") from None
            self._conn.settimeout(timeout)
            self._reader = self._conn.makefile("r")
            hello = self._reader.readline()
            if not hello:
                raise BoxError(f"the box exited as it started; see {log}: {_tail(log)}")
            self.init_pid = json.loads(hello)["init"]
        except BaseException:
            self.close()
            raise
        finally:
            listener.close()
            sock_path.unlink(missing_ok=True)

    def spawn(self, role: str, argv: list[str], *, env: dict, cwd: str, log: str) -> tuple[int, int]:
        """Start ``role`` in the box; its PID as the grader sees it and as the box sees it."""
        if self._conn is None:
            raise BoxError("the box is closed")
        request = {"role": role, "argv": argv, "env": env, "cwd": str(cwd), "log": str(log)}
        try:
            self._conn.sendall((json.dumps(request) + "\n").encode())
            line = self._reader.readline()
        except OSError as e:
            raise BoxError(f"the box did not answer ({e!r})") from e
        answer = json.loads(line or '{"error": "the box init exited"}')
        if "error" in answer:
            raise BoxError(f"could not start a {role} in the box: {answer['error']}")
        return answer["pid"], answer["ns_pid"]

    def alive(self) -> bool:
        return self.init_pid is not None and _alive(self.init_pid)

    def limit_hits(self) -> list[str]:
        """The limits the box's processes hit so far: "memory", "pids" (cgroups), "tmp", "work" (a full tmpfs)."""
        hits = self.cgroup.hits() if self.cgroup else []
        if self.init_pid is not None:  # the box's own file systems, seen through its init's root
            for name, path, size in (("tmp", "/tmp", self.policy.tmp_bytes), ("work", self._workdir, self.policy.work_bytes)):
                with contextlib.suppress(OSError):
                    st = os.statvfs(f"/proc/{self.init_pid}/root{path}")
                    if st.f_bavail * st.f_frsize < max(64 * 1024, size // 100):
                        hits.append(name)
        return hits

    def close(self) -> None:
        """End the box: its init exits, so every process in it is killed; wait until they are all gone."""
        if self._conn is not None:
            with contextlib.suppress(OSError):
                self._reader.close()
                self._conn.close()
            self._conn = None
        for pid in (self.init_pid, self.parent_pid):
            if pid is not None:
                with contextlib.suppress(ProcessLookupError, PermissionError):
                    os.kill(pid, signal.SIGKILL)
        deadline = time.monotonic() + 10
        while time.monotonic() < deadline and (any(_alive(p) for p in (self.init_pid, self.parent_pid) if p)
                                               or (self.cgroup and self.cgroup.members())):
            time.sleep(0.005)
        if self.cgroup is not None:
            self.cgroup.remove()
            self.cgroup = None
        self.init_pid = self.parent_pid = None


def _socket_dir() -> Path:
    """A directory with a short path that only this user may enter, for the sockets boxes connect to."""
    for top in (LOCK_DIR, Path("/tmp"), Path(tempfile.gettempdir())):
        folder = top if top == LOCK_DIR else top / f"procbox-{os.getuid()}"
        try:
            folder.mkdir(mode=0o700 if folder != LOCK_DIR else 0o755, parents=True, exist_ok=True)
            st = folder.lstat()
            if st.st_uid == os.getuid() and os.access(folder, os.W_OK) and len(str(folder)) < 60:
                return folder
        except OSError:
            continue
    raise BoxError("no directory with a short path for the boxes' sockets (tried /run/procbox and /tmp)")


def _alive(pid: int) -> bool:
    """True while ``pid`` exists and is not a zombie."""
    try:
        with open(f"/proc/{pid}/stat", "rb") as f:
            return f.read().rsplit(b")", 1)[1].split()[0] != b"Z"
    except (OSError, IndexError):
        return False


def _tail(log: Path) -> str:
    try:
        return " | ".join(log.read_text(errors="replace").strip().splitlines()[-3:])
    except OSError:
        return ""


def uid_name(uid: int) -> str:
    with contextlib.suppress(KeyError):
        return pwd.getpwuid(uid).pw_name
    return str(uid)
