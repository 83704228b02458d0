"""Sealed boxes: every process of one submission in a PID namespace, a cgroup and a uid of its own.

A box is made by the warm fork server (:mod:`procbox.forkserver`), so what runs
in it (controller, engines, kernel) is still a ``fork()`` of a process that has
imported ipyparallel, ipykernel and numpy once.  The chain is::

    grader --(unix socket)--> box init (PID 1 of the box) --fork--> controller, engines, kernel
       \\--(pipe)--> fork server --fork--> box parent (P) --fork--/

The box parent P, still in the grader's PID namespace, joins the box's cgroups,
connects to the grader's socket, unshares a network namespace (loopback only;
when the grader is not root, a user namespace first), forks the box's services
(:class:`Service`, e.g. its own n-gram mirror) on listening sockets in that
network, unshares a mount, PID and IPC namespace, builds the box's root from an
allowlist and enters it (:mod:`procbox.rootfs`: the Python installation
read-only, a size-capped private ``/tmp`` shared by ``/var/tmp`` and
``/dev/shm``, a private ``/run``, the run directory and a size-capped working
directory, nothing of the instructor's) and forks the box init, which is PID 1
of the new namespace and mounts a ``/proc`` that shows only the box.  The init
forks each requested process, which drops to the box's uid before it runs.

What that gives, whatever student code does:

- it cannot see, signal, stop or trace a process outside its box (they are not
  in its PID namespace), nor the box init (PID 1 ignores signals from inside and
  is not dumpable);
- it sees no file but its own and the installation's, and writes nowhere that
  outlives the box;
- it reaches nothing over the network but its own box's loopback (its
  controller, engines, kernel and services); the grader talks to its kernel over
  unix sockets in the run directory;
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
import selectors
import signal
import socket
import subprocess
import sys
import tempfile
import time
from dataclasses import asdict, dataclass, field
from pathlib import Path

from procbox import rootfs
from procbox._launch import CHILD_SIGNALS, child_main, die_with_parent, start_session
from procbox.syscalls import (
    CLONE_NEWIPC,
    CLONE_NEWNET,
    CLONE_NEWNS,
    CLONE_NEWPID,
    CLONE_NEWUSER,
    MS_NODEV,
    MS_NOEXEC,
    MS_NOSUID,
    PR_SET_DUMPABLE,
    PR_SET_NO_NEW_PRIVS,
    keep_capabilities,
    loopback_up,
    mount,
    prctl,
    reap_children,
    unshare,
)

DEFAULT_MEMORY = 2 * 1024**3  # all processes of one submission together
DEFAULT_PROCS = 512  # processes and threads of one submission together (a box needs about 70)
DEFAULT_TMP = 256 * 1024**2  # bytes in /tmp (with /var/tmp and /dev/shm)
DEFAULT_WORK = 512 * 1024**2  # bytes in the working directory
UID_BASE, UID_COUNT = 3_000_000, 4096  # one uid per slot, taken with a lock file
LOCK_DIR = Path(os.environ.get("PROCBOX_LOCK_DIR", "/run/procbox" if os.path.isdir("/run") else tempfile.gettempdir()))
ENV_ALLOW = ("PATH", "PYTHONPATH", "LANG", "LANGUAGE", "LC_ALL", "LC_CTYPE", "TZ", "TERM")
MAX_FILES = 4096  # open files per process in a box (the box's memory limit bounds them all together)
SERVICE_FILES = 256  # open files of a box's service: a student who floods it with connections waits in its backlog
NETWORKS = {"none": "a network namespace of its own with loopback only (no route out, no other box)",
            "host": "the host's network (--network host: routes out, other boxes' ports on 127.0.0.1)"}


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
                self.cgroups = _own_cgroups()
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


ROOT_DIR = ".root"  # in a run directory: the empty folder a box's root is built on


@dataclass
class Service:
    """A process that serves a box from outside it, on a listening socket in the box's network.

    The box parent binds ``127.0.0.1:port`` (0: any) in the box's network namespace, then forks the
    service before the box's PID namespace and file system exist: it runs in the grader's file system
    and PID namespace, which student code cannot see or signal, as the box's uid with no capability.  ``target``
    (``"module:function"``) is called as ``function(listening_socket, *args)`` while still privileged (to read its
    data) and returns the callable that serves; it dies with the box.  Its port is in :attr:`Box.ports`.
    """

    name: str
    target: str
    args: list = field(default_factory=list)
    port: int = 0


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
    flags = CLONE_NEWNS | CLONE_NEWPID | CLONE_NEWNET | (0 if os.geteuid() == 0 else CLONE_NEWUSER)
    uid, gid = os.getuid(), os.getgid()
    unshare(flags)
    if flags & CLONE_NEWUSER:
        _map_ids(uid, gid)
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


# -- system calls ----------------------------------------------------------------------------------------------

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
    """The box parent P: cgroups, the grader's socket, namespaces, the box's services, its root; then fork the box
    init and wait for it."""

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
        if os.geteuid() != 0:  # a user namespace first: it owns the namespaces below
            unshare(CLONE_NEWUSER)
            _map_ids(uid, gid)
        if spec["network"] == "none":
            unshare(CLONE_NEWNET)
            loopback_up()
        spec["ports"] = {service["name"]: _start_service(service, conn, spec) for service in spec["services"]}
        unshare(CLONE_NEWNS | CLONE_NEWPID | CLONE_NEWIPC)
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


def _start_service(service: dict, conn: socket.socket, spec: dict) -> int:
    """Fork a :class:`Service` on a socket listening on 127.0.0.1 in the box's network; its port."""
    listener = socket.create_server(("127.0.0.1", service["port"]), backlog=128)
    port = listener.getsockname()[1]
    sys.stdout.flush()
    sys.stderr.flush()
    if os.fork() == 0:
        def body():
            import importlib
            import resource

            conn.close()
            parent = os.getppid()
            signal.signal(signal.SIGPIPE, signal.SIG_IGN)  # a client that hangs up is an error to handle, not death
            module, _, name = service["target"].partition(":")
            serve = getattr(importlib.import_module(module), name)(listener, *service["args"])
            resource.setrlimit(resource.RLIMIT_NOFILE, (SERVICE_FILES, SERVICE_FILES))
            resource.setrlimit(resource.RLIMIT_CORE, (0, 0))
            if os.geteuid() == 0:  # the box's uid (it may read its processes' descriptors), no capability
                os.setgroups([])
                os.setgid(spec["root"]["gid"])
                os.setuid(spec["root"]["uid"])
            else:  # in the box's user namespace, where it holds every capability: none
                keep_capabilities()
            prctl(PR_SET_NO_NEW_PRIVS, 1)
            die_with_parent()  # after setuid, which clears it
            if os.getppid() != parent:
                return 1
            serve()

        child_main(body)
    listener.close()
    return port


def _box_init(conn: socket.socket, host_proc: int, spec: dict) -> None:
    """PID 1 of the box: fork what the grader asks for, reap orphans, return (ending the box) when the grader goes."""
    die_with_parent()
    prctl(PR_SET_DUMPABLE, 0)
    for sig in CHILD_SIGNALS:
        if sig != signal.SIGCHLD:
            signal.signal(sig, signal.SIG_IGN)
    # the root, and in it a /proc of this PID namespace, mounted while the machine's /proc still shows (in a user
    # namespace the kernel allows a new proc only where one is fully visible)
    rootfs.build_root(spec["root"])
    conn.sendall((json.dumps({"init": _host_pid(host_proc), "ports": spec["ports"]}) + "\n").encode())
    reader = conn.makefile("r")
    waiting = selectors.DefaultSelector()
    waiting.register(conn, selectors.EVENT_READ)
    while True:
        reap_children()
        if not waiting.select(0.5):
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
    hard = resource.getrlimit(resource.RLIMIT_NOFILE)[1]
    files = MAX_FILES if hard == resource.RLIM_INFINITY else min(MAX_FILES, hard)
    resource.setrlimit(resource.RLIMIT_NOFILE, (files, files))
    if os.geteuid() == 0:
        uid, gid = spec["root"]["uid"], spec["root"]["gid"]
        os.setgroups([])
        os.setgid(gid)
        os.setuid(uid)
    if limits.get("nproc"):
        resource.setrlimit(resource.RLIMIT_NPROC, (limits["nproc"], limits["nproc"]))
    # setuid made it undumpable, so /proc showed it as root's; its box's service (of the same uid, in no PID namespace
    # student code sees) reads its sockets there, and nothing else of that uid exists outside the box
    prctl(PR_SET_DUMPABLE, 1)
    prctl(PR_SET_NO_NEW_PRIVS, 1)
    die_with_parent()  # after setuid, which clears it; the parent is the box init
    if os.getppid() != 1:
        os._exit(1)
    os.chdir(request["cwd"])
    from procbox._launch import run

    run(request["role"], request["argv"])


# -- outside: the grader's handle on one box ---------------------------------------------------------------------------

class Box:
    """One sealed box, made by ``forkserver`` (a :class:`procbox.forkserver.ForkServer`) for ``policy``.

    :meth:`spawn` starts a process in it; :meth:`close` ends it and everything in it.  Its root is built
    from ``policy``'s allowlist with ``run_dir`` and ``read_write`` writable (:mod:`procbox.rootfs`);
    ``services`` (:class:`Service`) serve it from outside, on the ports in :attr:`ports`.
    """

    def __init__(self, forkserver, policy: BoxPolicy, *, run_dir: Path, workdir: Path, uid: int, gid: int,
                 name: str, log: Path, timeout: float = 20, read_write=(), services=()):
        self.policy = policy
        self.ports: dict[str, int] = {}
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
            (run_dir / ROOT_DIR).mkdir(mode=0o700, exist_ok=True)
            spec = {"socket": str(sock_path), "root": policy.root_spec(run_dir, workdir, uid, gid, read_write),
                    "limits": limits, "network": policy.network, "services": [asdict(s) for s in services],
                    "cgroup_procs": self.cgroup.procs_files if self.cgroup else []}
            self.parent_pid = forkserver.spawn("box", [], env={}, cwd="/", log=str(log), box=spec)
            listener.settimeout(0.05)
            deadline = time.monotonic() + timeout
            while self._conn is None:
                try:
                    self._conn, _ = listener.accept()
                except TimeoutError:
                    if not _alive(self.parent_pid):
                        raise BoxError(f"the box's parent exited as it started; see {log}: {_tail(log)}") from None
                    if time.monotonic() > deadline:
                        raise BoxError(f"the box did not start in {timeout:.0f} s; see {log}") from None
            self._conn.settimeout(timeout)
            self._reader = self._conn.makefile("r")
            hello = self._reader.readline()
            if not hello:
                raise BoxError(f"the box exited as it started; see {log}: {_tail(log)}")
            hello = json.loads(hello)
            self.init_pid, self.ports = hello["init"], hello["ports"]
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

    def run(self, role: str, argv: list[str], *, env: dict, cwd: str, log: str, timeout: float,
            still_ok=lambda: None) -> None:
        """Start ``role`` in the box and wait until it has exited; BoxError (after killing it) if it has not within
        ``timeout`` seconds.  ``still_ok()`` is called while waiting: it may raise to stop waiting."""
        pid, _ = self.spawn(role, argv, env=env, cwd=cwd, log=log)
        deadline = time.monotonic() + timeout
        try:
            while _alive(pid):
                still_ok()
                if time.monotonic() > deadline:
                    raise BoxError(f"the {role} did not finish in {timeout:.0f} s; see {log}")
                time.sleep(0.005)
        finally:
            with contextlib.suppress(ProcessLookupError, PermissionError):
                os.kill(pid, signal.SIGKILL)

    def alive(self) -> bool:
        return self.init_pid is not None and _alive(self.init_pid)

    def limit_hits(self) -> list[str]:
        """The limits the box's processes hit so far: "memory", "pids" (cgroups), "tmp", "work" (a full tmpfs)."""
        hits = self.cgroup.hits() if self.cgroup else []
        if self.init_pid is not None:  # the box's own file systems, seen through its init's root
            for name, path, size in (("tmp", "/tmp", self.policy.tmp_bytes),
                                     ("work", self._workdir, self.policy.work_bytes)):
                with contextlib.suppress(OSError):
                    st = os.statvfs(f"/proc/{self.init_pid}/root{path}")
                    if st.f_bavail * st.f_frsize < max(64 * 1024, size // 100):
                        hits.append(name)
        return hits

    def kill(self) -> None:
        """Kill the box's init and parent, so every process in it dies, without waiting and without touching
        anything else: safe from another thread while the box is in use (close() does the rest afterwards)."""
        for pid in (self.init_pid, self.parent_pid):
            if pid is not None:
                with contextlib.suppress(ProcessLookupError, PermissionError):
                    os.kill(pid, signal.SIGKILL)

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
            if self.cgroup and not any(_alive(p) for p in (self.init_pid, self.parent_pid) if p):
                for pid in self.cgroup.members():  # the box's services: they die with its parent, this is sooner
                    with contextlib.suppress(ProcessLookupError, PermissionError):
                        os.kill(pid, signal.SIGKILL)
            time.sleep(0.005)
        if self.cgroup is not None:
            self.cgroup.remove()
            self.cgroup = None
        self.init_pid = self.parent_pid = None


def short_socket_dir() -> Path:
    """A new folder with a short path, for unix sockets (AF_UNIX allows 107 bytes); the caller removes it."""
    return Path(tempfile.mkdtemp(prefix="k-", dir=_socket_dir()))


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


# -- the sealing check: a probe box tries what a hostile submission would ------------------------------------------

def check_sealed(forkserver, policy: BoxPolicy, run_dir: Path, *, uid: int, gid: int,
                 timeout: float = 30) -> list[str]:
    """Make a box of ``policy`` in ``run_dir`` (new, empty) and try from inside it what a hostile submission
    would; one line per protection that does not hold (none: the box is sealed as ``policy`` promises).

    The probe (:func:`probe_main`, as the box's uid) looks for every path of ``policy.hide`` and for their
    names in its mount table, tries to write in every read-only place and outside its box (``/run/lock``,
    ``/var/lock``, ``/tmp`` ... must be its own: the grader looks for what it wrote there on the host), and,
    with a network of its own, tries to connect to listeners the grader opened on the host's loopback
    (where other boxes' controllers would be with the host's network) and to find a route out.
    """
    nonce = f"procbox-probe-{secrets.token_hex(8)}"
    listeners, problems = [], []
    for family, host in ((socket.AF_INET, "127.0.0.1"), (socket.AF_INET6, "::1")):
        with contextlib.suppress(OSError):
            s = socket.socket(family, socket.SOCK_STREAM)
            s.bind((host, 0))
            s.listen(8)
            listeners.append(s)
    for sub in ("work", "logs"):
        (run_dir / sub).mkdir(parents=True, exist_ok=True)
    out = run_dir / "probe.json"
    if os.geteuid() == 0:
        for path in (run_dir, run_dir / "work", run_dir / "logs"):
            os.chown(path, uid, gid)
    box = None
    try:
        box = Box(forkserver, policy, run_dir=run_dir, workdir=run_dir / "work", uid=uid, gid=gid,
                  name=f"procbox-{os.getpid()}-probe-{secrets.token_hex(4)}", log=run_dir / "logs" / "box.log",
                  timeout=timeout)
        with contextlib.suppress(PermissionError):  # its parent is in its network, and readable where the init is not
            if policy.own_network and os.readlink(f"/proc/{box.parent_pid}/ns/net") == os.readlink("/proc/self/ns/net"):
                problems.append("network: the box is in the grader's network namespace")
        box.run("probe", [json.dumps(probe_args(policy, run_dir, nonce, out, listeners))],
                env=minimal_env(HOME=str(run_dir / "work")), cwd=str(run_dir / "work"),
                log=str(run_dir / "logs" / "probe.log"), timeout=timeout)
        found = json.loads(out.read_text())
    except (BoxError, OSError, ValueError) as e:
        return problems + [f"the probe box did not run ({e}); see {run_dir / 'logs'}"]
    finally:
        if box is not None:
            box.close()
        for s in listeners:
            s.close()
    return problems + found["problems"] + written_on_host(nonce)


PRIVATE_DIRS = ("/tmp", "/var/tmp", "/dev/shm", "/run", "/run/lock", "/var/lock")


def probe_args(policy: BoxPolicy, run_dir: Path, nonce: str, out: Path, listeners=()) -> dict:
    """What :func:`check_sealed` asks its probe (:func:`probe_main`) to try in a box of ``policy`` made in ``run_dir``:
    the hidden paths to look for, where writing must fail, the private folders to write ``nonce`` in, and (with a
    network of its own) the host's ``listeners`` (sockets) it must not reach and whether it must find no route out."""
    return {"hide": [str(p) for p in policy.hide], "read_only": ["/", *policy.read_only, "/usr", "/etc"],
            "allowed": [*policy.read_only, str(run_dir)], "private": list(PRIVATE_DIRS), "nonce": nonce,
            "out": str(out), "listeners": [list(s.getsockname()[:2]) for s in listeners] if policy.own_network else [],
            "routes": policy.own_network}


def written_on_host(nonce: str) -> list[str]:
    """One line for each file named ``nonce`` that a probe wrote in its private folders and that is on the host
    (so that folder of its box was the host's); each is removed."""
    problems = []
    for folder in PRIVATE_DIRS:
        if os.path.lexists(os.path.join(folder, nonce)):
            problems.append(f"files: {folder}/{nonce}, written in the box, is on the host: the box's {folder} is not "
                            "its own")
            with contextlib.suppress(OSError):
                os.unlink(os.path.join(folder, nonce))
    return problems


def _exposed(path: str, allowed: list[str]) -> str | None:
    """Something at or below the hidden ``path`` that shows in the box and is not (on the way to) an ``allowed``
    path; None if nothing does (an empty folder covering it is nothing)."""
    if not os.path.lexists(path):
        return None
    if not os.path.isdir(path) or os.path.islink(path):
        return path
    todo = [path]
    while todo:
        folder = todo.pop()
        try:
            names = os.listdir(folder)
        except OSError:
            continue
        for name in names:
            entry = os.path.join(folder, name)
            if any(rootfs.under(entry, a) for a in allowed):
                continue  # the box's own (its run directory) or the installation
            if any(rootfs.under(a, entry) for a in allowed) and os.path.isdir(entry) and not os.path.islink(entry):
                todo.append(entry)  # only the way to an allowed path may show
                continue
            return entry
    return None


def probe_main(argv: list[str]) -> None:
    """The ``probe`` role of :func:`check_sealed`, run in the box: writes ``{"problems": [...]}`` to ``out``."""
    args = json.loads(argv[0])
    problems = []
    for path in args["hide"]:
        exposed = _exposed(path, args["allowed"])
        if exposed:
            problems.append(f"files: {exposed} can be read in the box")
    try:
        table = Path("/proc/self/mountinfo").read_text()
    except OSError as e:
        table = ""
        problems.append(f"files: the mount table could not be read ({e})")
    for path in args["hide"]:
        if (f" {path} " in table or f" {path}/" in table) and not any(rootfs.under(a, path) for a in args["allowed"]):
            problems.append(f"files: the box's mount table names {path}")
    for folder in args["read_only"]:
        target = os.path.join(folder, args["nonce"])
        try:
            os.close(os.open(target, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600))
            problems.append(f"files: the box can write in {folder}")
            os.unlink(target)
        except OSError:
            pass
    for folder in args["private"]:
        with contextlib.suppress(OSError):
            Path(folder, args["nonce"]).write_text("probe")
    for host, port in args["listeners"]:
        family = socket.AF_INET6 if ":" in host else socket.AF_INET
        with socket.socket(family, socket.SOCK_STREAM) as s:
            s.settimeout(2)
            try:
                s.connect((host, port))
                problems.append(f"network: the box reached the grader's {host} port {port}")
            except OSError:
                pass
    if args["routes"]:
        for family, address in ((socket.AF_INET, ("192.0.2.1", 9)), (socket.AF_INET6, ("2001:db8::1", 9))):
            with socket.socket(family, socket.SOCK_DGRAM) as s:
                try:
                    s.connect(address)  # UDP: succeeds at once if a route exists, sends nothing
                    problems.append(f"network: the box has a route out ({address[0]})")
                except OSError:
                    pass
    tmp = args["out"] + ".tmp"
    Path(tmp).write_text(json.dumps({"problems": problems}))
    os.replace(tmp, args["out"])
