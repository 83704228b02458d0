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
import os
import pwd
import secrets
import selectors
import signal
import socket
import sys
import tempfile
import time
from pathlib import Path

from procbox import rootfs
from procbox._launch import CHILD_SIGNALS, child_main, die_with_parent, start_session
from procbox.messages import BoxHello, BoxLimits, BoxSpec, Service, SpawnRequest, Started
from procbox.policy import ROOT_DIR, BoxPolicy
from procbox.resources import LOCK_DIR, BoxError, Cgroup, alive, kill_if_same, start_time
from procbox.syscalls import (
    CLONE_NEWIPC,
    CLONE_NEWNET,
    CLONE_NEWNS,
    CLONE_NEWPID,
    CLONE_NEWUSER,
    PR_SET_DUMPABLE,
    PR_SET_NO_NEW_PRIVS,
    keep_capabilities,
    loopback_up,
    map_ids,
    prctl,
    reap_children,
    unshare,
)

MAX_FILES = 4096  # open files per process in a box (the box's memory limit bounds them all together)
WORK_DIR = "work"  # a box's working directory, in its run directory: writable, size-capped
SERVICE_FILES = 256  # open files of a box's service: a student who floods it with connections waits in its backlog


# -- cgroups -------------------------------------------------------------------------------------------


# -- uids ------------------------------------------------------------------------------------------------


# -- the policy --------------------------------------------------------------------------------------------


# -- system calls ----------------------------------------------------------------------------------------------

def _host_pid(host_proc: int) -> int:
    """This process's PID as the grader sees it (``self`` in the grader's /proc, opened before the box)."""
    return int(os.readlink("self", dir_fd=host_proc))


# -- inside: the box parent and the box init (forked from the fork server; never return) ---------------------------

def run_box(request: SpawnRequest) -> None:
    """The box parent P: cgroups, the grader's socket, namespaces, the box's services, its root; then fork the box
    init and wait for it."""

    def body() -> int:
        spec = request.box
        assert spec is not None, "a box's parent is asked for with its BoxSpec"
        start_session(request.log)
        die_with_parent()
        for procs in spec.cgroup_procs:
            Path(procs).write_text(str(os.getpid()))
        conn = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        conn.connect(spec.socket)
        host_proc = os.open("/proc", os.O_RDONLY | os.O_DIRECTORY)
        uid, gid = os.getuid(), os.getgid()
        if os.geteuid() != 0:  # a user namespace first: it owns the namespaces below
            unshare(CLONE_NEWUSER)
            map_ids(uid, gid)
        if spec.network == "none":
            unshare(CLONE_NEWNET)
            loopback_up()
        spec.ports = {service.name: _start_service(service, conn, spec) for service in spec.services}
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


def _start_service(service: Service, conn: socket.socket, spec: BoxSpec) -> int:
    """Fork a :class:`Service` on a socket listening on 127.0.0.1 in the box's network; its port."""
    listener = socket.create_server(("127.0.0.1", service.port), backlog=128)
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
            module, _, name = service.target.partition(":")
            serve = getattr(importlib.import_module(module), name)(listener, *service.args)
            resource.setrlimit(resource.RLIMIT_NOFILE, (SERVICE_FILES, SERVICE_FILES))
            resource.setrlimit(resource.RLIMIT_CORE, (0, 0))
            if os.geteuid() == 0:  # the box's uid (it may read its processes' descriptors), no capability
                os.setgroups([])
                os.setgid(spec.root["gid"])
                os.setuid(spec.root["uid"])
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


def _box_init(conn: socket.socket, host_proc: int, spec: BoxSpec) -> None:
    """PID 1 of the box: fork what the grader asks for, reap orphans, return (ending the box) when the grader goes."""
    die_with_parent()
    prctl(PR_SET_DUMPABLE, 0)
    for sig in CHILD_SIGNALS:
        if sig != signal.SIGCHLD:
            signal.signal(sig, signal.SIG_IGN)
    # the root, and in it a /proc of this PID namespace, mounted while the machine's /proc still shows (in a user
    # namespace the kernel allows a new proc only where one is fully visible)
    rootfs.build_root(spec.root)
    conn.sendall(BoxHello(_host_pid(host_proc), spec.ports).line().encode())
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
        try:
            request = SpawnRequest.from_line(line)
        except ValueError as e:
            conn.sendall(Started(error=f"not a request: {e}").line().encode())
            continue
        request.box, request.jail = spec, []  # the limits and uid are the box's, whatever was asked
        conn.sendall(_spawn_in_box(request, conn, host_proc).line().encode())


def _spawn_in_box(request: SpawnRequest, conn: socket.socket, host_proc: int) -> Started:
    read_end, write_end = os.pipe()
    try:
        sys.stdout.flush()
        sys.stderr.flush()
        pid = os.fork()
    except OSError as e:
        os.close(read_end)
        os.close(write_end)
        return Started(error=repr(e))
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
        return Started(error=f"the {request.role} exited before it started")
    return Started(pid=int(host), ns_pid=pid)


def _become(request: SpawnRequest) -> None:
    """In a process the init forked: its own session, the box's uid and limits, then the role it was asked for."""
    import resource

    start_session(request.log)
    os.environ.clear()
    os.environ.update(request.env)
    spec = request.box
    assert spec is not None, "the box init sets every request's box"
    limits = spec.limits
    if limits.data:
        resource.setrlimit(resource.RLIMIT_DATA, (limits.data, limits.data))
    resource.setrlimit(resource.RLIMIT_CORE, (0, 0))
    resource.setrlimit(resource.RLIMIT_FSIZE, (limits.fsize, limits.fsize))
    hard = resource.getrlimit(resource.RLIMIT_NOFILE)[1]
    files = MAX_FILES if hard == resource.RLIM_INFINITY else min(MAX_FILES, hard)
    resource.setrlimit(resource.RLIMIT_NOFILE, (files, files))
    if os.geteuid() == 0:
        uid, gid = spec.root["uid"], spec.root["gid"]
        os.setgroups([])
        os.setgid(gid)
        os.setuid(uid)
    if limits.nproc:
        resource.setrlimit(resource.RLIMIT_NPROC, (limits.nproc, limits.nproc))
    # setuid made it undumpable, so /proc showed it as root's; its box's service (of the same uid, in no PID namespace
    # student code sees) reads its sockets there, and nothing else of that uid exists outside the box
    prctl(PR_SET_DUMPABLE, 1)
    prctl(PR_SET_NO_NEW_PRIVS, 1)
    die_with_parent()  # after setuid, which clears it; the parent is the box init
    if os.getppid() != 1:
        os._exit(1)
    os.chdir(request.cwd)
    from procbox._launch import run

    run(request.role, request.argv)


# -- outside: the grader's handle on one box ---------------------------------------------------------------------------

class Box:
    """One sealed box, made by ``forkserver`` (a :class:`procbox.forkserver.ForkServer`) for ``policy``.

    :meth:`spawn` starts a process in it; :meth:`close` ends it and everything in it.  Its root is built
    from ``policy``'s allowlist with ``run_dir`` and ``read_write`` writable (:mod:`procbox.rootfs`), its
    working directory ``run_dir/work`` (:data:`WORK_DIR`, made by the caller); ``services``
    (:class:`procbox.messages.Service`) serve it from outside, on the ports in :attr:`ports`.
    """

    def __init__(self, forkserver, policy: BoxPolicy, *, run_dir: Path, uid: int, gid: int,
                 name: str, log: Path, timeout: float = 20, read_write=(), services=()):
        self.policy = policy
        self.ports: dict[str, int] = {}
        self.cgroup = Cgroup(name, policy.memory, policy.max_procs, policy.cgroups) if policy.cgroups else None
        self.parent_pid = self.init_pid = None
        self._starts: dict[int, int | None] = {}  # pid -> start time: what kill() may signal (PIDs wrap around)
        self._conn = None
        self._workdir = workdir = run_dir / WORK_DIR
        sock_path = _socket_dir() / f"box-{os.getpid()}-{secrets.token_hex(6)}.sock"  # short: AF_UNIX's 108 bytes
        listener = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        try:
            sock_path.unlink(missing_ok=True)
            listener.bind(str(sock_path))
            os.chmod(sock_path, 0o600)  # the box's parent runs as this user: nobody else may connect
            listener.listen(1)
            limits = BoxLimits(data=policy.per_process_memory, fsize=max(policy.work_bytes, policy.tmp_bytes),
                               nproc=0 if (self.cgroup and "pids" in self.cgroup.dirs) else policy.max_procs)
            (run_dir / ROOT_DIR).mkdir(mode=0o700, exist_ok=True)
            spec = BoxSpec(str(sock_path), policy.root_spec(run_dir, workdir, uid, gid, read_write), limits,
                           policy.network, list(services), self.cgroup.procs_files if self.cgroup else [])
            self.parent_pid = forkserver.spawn("box", [], env={}, cwd="/", log=str(log), box=spec)
            self._starts[self.parent_pid] = start_time(self.parent_pid)
            listener.settimeout(0.05)
            deadline = time.monotonic() + timeout
            while self._conn is None:
                try:
                    self._conn, _ = listener.accept()
                except TimeoutError:
                    if not alive(self.parent_pid, self._starts[self.parent_pid]):
                        raise BoxError(f"the box's parent exited as it started; see {log}: {_tail(log)}") from None
                    if time.monotonic() > deadline:
                        raise BoxError(f"the box did not start in {timeout:.0f} s; see {log}") from None
            self._conn.settimeout(timeout)
            self._reader = self._conn.makefile("r")
            hello = self._reader.readline()
            if not hello:
                raise BoxError(f"the box exited as it started; see {log}: {_tail(log)}")
            greeting = BoxHello.from_line(hello)
            self.init_pid, self.ports = greeting.init, greeting.ports
            self._starts[self.init_pid] = start_time(self.init_pid)
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
        request = SpawnRequest(role, list(argv), dict(env), str(cwd), str(log))
        try:
            self._conn.sendall(request.line().encode())
            line = self._reader.readline()
        except OSError as e:
            raise BoxError(f"the box did not answer ({e!r})") from e
        answer = Started.from_line(line) if line else Started(error="the box init exited")
        if answer.error is not None or answer.ns_pid is None:
            raise BoxError(f"could not start a {role} in the box: {answer.error}")
        return answer.pid, answer.ns_pid

    def run(self, role: str, argv: list[str], *, env: dict, cwd: str, log: str, timeout: float,
            still_ok=lambda: None) -> None:
        """Start ``role`` in the box and wait until it has exited; BoxError (after killing it) if it has not within
        ``timeout`` seconds.  ``still_ok()`` is called while waiting: it may raise to stop waiting."""
        pid, _ = self.spawn(role, argv, env=env, cwd=cwd, log=log)
        start = start_time(pid)  # None if it has already ended: then nothing is waited for or killed
        deadline = time.monotonic() + timeout
        try:
            while alive(pid, start):
                still_ok()
                if time.monotonic() > deadline:
                    raise BoxError(f"the {role} did not finish in {timeout:.0f} s; see {log}")
                time.sleep(0.005)
        finally:
            kill_if_same(pid, start)

    def alive(self) -> bool:
        return self.init_pid is not None and alive(self.init_pid, self._starts.get(self.init_pid))

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
                kill_if_same(pid, self._starts.get(pid))  # never a process that took its PID since

    def close(self) -> None:
        """End the box: its init exits, so every process in it is killed; wait until they are all gone."""
        if self._conn is not None:
            with contextlib.suppress(OSError):
                self._reader.close()
                self._conn.close()
            self._conn = None
        self.kill()
        deadline = time.monotonic() + 10
        mine = [(p, self._starts.get(p)) for p in (self.init_pid, self.parent_pid) if p]
        while time.monotonic() < deadline and (any(alive(p, t) for p, t in mine if t is not None)
                                               or (self.cgroup and self.cgroup.members())):
            if self.cgroup and not any(alive(p, t) for p, t in mine if t is not None):
                for pid in self.cgroup.members():  # the box's services: they die with its parent, this is sooner
                    with contextlib.suppress(ProcessLookupError, PermissionError):
                        os.kill(pid, signal.SIGKILL)
            time.sleep(0.005)
        if self.cgroup is not None:
            self.cgroup.remove()
            self.cgroup = None
        self.init_pid = self.parent_pid = None


IPC_PATH_MAX = 100  # bytes of a unix socket's path (AF_UNIX allows 107; ipc sockets add "-<port>")


def ipc_fits(path: str | os.PathLike) -> bool:
    """Whether ``path`` can name a kernel's ipc sockets (``<path>-<port>``) within AF_UNIX's limit."""
    return len(str(path)) + 6 <= IPC_PATH_MAX


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


