"""The one place that starts, verifies, resets, stops and reaps a local ipyparallel cluster.

A :class:`LocalCluster` is a controller and N engines (default 4) in one
IPython directory and profile, with ``cluster_id=""`` so that a bare
``ipp.Client()`` in any process that sees the same ``IPYTHONDIR`` connects to it.

Every process runs in a session (process group) of its own, and its PID and
start time go into a state file next to the connection files.  Stopping signals
the recorded process groups, never processes found by name, so whatever a
student's code spawned on an engine goes too; a cluster left behind by a crashed
run is reaped from its state file (:func:`reap`).  A cluster *owned* by a
process (the grader, the tests) also dies with its owner, through Linux's
parent-death signal, so even a SIGKILLed owner orphans nothing.

The controller's heartbeat is shortened (100 ms instead of 3 s, still allowing
5 s of silence before an engine counts as dead) and the engines start as soon
as the controller has written its connection file: four engines are ready in
about 2.5 s on two cores instead of about 7 s, and in about 1 s when forked
from a fork server (``fork=True``, :mod:`procbox.forkserver`); run
``python benchmarks/cluster_start.py`` to measure them.  The controller's ports
come from a block below the machine's ephemeral port range
(:func:`reserve_port_block`), so no outgoing connection can take one of them
before the controller binds it.
"""

from __future__ import annotations

import contextlib
import json
import os
import random
import shutil
import signal
import socket
import subprocess
import sys
import threading
import time
import uuid
from dataclasses import asdict, dataclass, field
from pathlib import Path

import psutil

from ._launch import die_with_parent
from .forkserver import ForkServer

DEFAULT_ENGINES = 4
HEARTBEAT_MS = 100
HEART_TOLERANCE_MS = 5000  # an engine is declared dead after this long without a heartbeat
STATE_FILE = "course-cluster.json"
TOKEN_VAR = "COURSE_CLUSTER_TOKEN"  # every process of a cluster, and their children, inherit it



class ClusterError(RuntimeError):
    """The cluster could not be started, reached or verified."""


def default_ipython_dir() -> Path:
    from IPython.paths import get_ipython_dir

    return Path(get_ipython_dir())


def profile_dir_for(ipython_dir: str | os.PathLike | None = None, profile: str = "default") -> Path:
    return Path(ipython_dir or default_ipython_dir()) / f"profile_{profile}"


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


@dataclass
class ClusterState(StateFile):
    """What the state file records; the basis for status, stop and reap."""

    profile_dir: str
    n: int
    owner_pid: int | None
    token: str = ""
    controller: Proc | None = None
    engines: list[Proc] = field(default_factory=list)

    PROC_LISTS = ("engines",)  # StateFile: fields holding lists of Proc

    def procs(self) -> list[Proc]:
        return ([self.controller] if self.controller else []) + list(self.engines)


def die_with(owner_pid: int):
    """preexec_fn: SIGKILL this child when the thread that started it exits."""

    def preexec():
        die_with_parent()
        if os.getppid() != owner_pid:  # the owner died before prctl took effect
            os._exit(1)

    return preexec


def _complete_json(path: Path) -> bool:
    """True once the controller has finished writing this connection file (it is not written atomically)."""
    try:
        return isinstance(json.loads(path.read_text()), dict)
    except (OSError, ValueError):
        return False


RECONNECT_AFTER = 1.0  # seconds a client waiting for engines keeps its connection (see wait_for_engines)
PORT_BLOCK = 32  # ports per controller: ipyparallel needs 16 with its defaults
BOX_PORTS = 20000  # in a box's own network namespace every port is free: a fixed block, below the ephemeral range
_blocks_in_use: set[int] = set()
_blocks_lock = threading.Lock()


def reserve_port_block() -> int | None:
    """The first port of a block of free ports below the kernel's ephemeral range; None if there is no room.

    ipyparallel picks its ports by binding port 0 and closing it, and binds them
    for real later (its heart monitor, in another process, later still).  In
    between, any outgoing connection on the machine may be given that port as its
    ephemeral port, and the heart monitor dies ("Address already in use"), so no
    engine ever registers.  Ports below the ephemeral range are not handed out
    that way; blocks this process holds are not handed out twice.
    """
    try:
        low = int(Path("/proc/sys/net/ipv4/ip_local_port_range").read_text().split()[0])
    except (OSError, ValueError, IndexError):
        return None
    bases = list(range(20000, low - PORT_BLOCK, PORT_BLOCK))
    random.shuffle(bases)
    for base in bases[:64]:
        with _blocks_lock:
            if base in _blocks_in_use:
                continue
            _blocks_in_use.add(base)
        if all(_bindable(port) for port in range(base, base + PORT_BLOCK)):
            return base
        release_port_block(base)
    return None


def release_port_block(base: int | None) -> None:
    with _blocks_lock:
        _blocks_in_use.discard(base)


def _bindable(port: int) -> bool:
    with socket.socket() as s:
        try:
            s.bind(("127.0.0.1", port))
            return True
        except OSError:
            return False


_canning_lock = threading.Lock()


def prepare_canning() -> None:
    """Have ipyparallel resolve its serialization tables now, once, under a lock.

    It does so lazily on first use, and two threads doing it at once (two
    grading workers verifying their clusters) can fail with a KeyError.
    """
    from ipyparallel.serialize import canning

    with _canning_lock:
        canning.uncan(canning.can(0))


def await_engines(connect, n: int, timeout: float, raise_if_exited=lambda: None, log_dir="its log folder"):
    """A client (close it) once engines 0..n-1 have registered; ClusterError if time runs out.

    ``connect(timeout)`` makes a client.  A client learns of engines that register after it
    connected from the controller's notifications, which a subscription still being set up can
    miss (zmq's "slow joiner"): the client would wait for them forever.  So a client that has not
    seen every engine within a second is replaced by a new one, which gets the controller's
    current list when it connects.
    """
    deadline = time.monotonic() + timeout
    ids: str | list[int]
    rc, ids, since = None, "none (the controller did not answer)", 0.0
    try:
        while True:
            raise_if_exited()
            if time.monotonic() > deadline:
                raise ClusterError(f"engines registered in {timeout:.0f} s: {ids} of {n}; see the logs in {log_dir}")
            if rc is None:
                try:  # short attempts, so a controller that died is noticed
                    rc = connect(min(5.0, max(0.1, deadline - time.monotonic())))
                    since = time.monotonic()
                except (TimeoutError, OSError):
                    continue
            ids = sorted(rc.ids)
            if ids == list(range(n)):
                client, rc = rc, None
                return client
            if time.monotonic() - since > RECONNECT_AFTER:
                rc.close()
                rc = None
                continue
            time.sleep(0.02)
    finally:
        if rc is not None:
            rc.close()


def _engine_problem(rc, n: int, expected: dict, timeout: float) -> str:
    """What is wrong with the engines ``rc`` sees ("" if nothing): ids other than 0..n-1, or PIDs (as the engines
    see them) other than ``expected`` ({engine id: pid})."""
    if sorted(rc.ids) != list(range(n)):
        return f"engine ids are {sorted(rc.ids)}, expected 0..{n - 1}"
    pids = rc[:].apply_async(os.getpid).get(timeout=timeout)
    if dict(zip(range(n), pids)) != expected:
        return f"engine pids {pids} are not the ones this cluster started {expected}"
    return ""


def check_engines(argv: list[str]) -> None:
    """The ``verify`` role: run in a boxed cluster's box before any student code, it waits for the engines and
    checks their ids and PIDs, and writes ``{"error": ...}`` (empty when all is well) to the file ``out``."""
    import ipyparallel as ipp

    args = json.loads(argv[0])
    expected = {int(k): v for k, v in args["expected"].items()}
    try:
        connect = lambda t: ipp.Client(args["client_file"], timeout=t)  # noqa: E731
        with contextlib.closing(await_engines(connect, args["n"], args["timeout"])) as rc:
            problem = _engine_problem(rc, args["n"], expected, args["timeout"])
    except Exception as e:  # whatever went wrong is the answer
        problem = f"the engines did not answer: {e!r}"
    tmp = args["out"] + ".tmp"
    with open(tmp, "w") as f:
        json.dump({"error": problem}, f)
    os.replace(tmp, args["out"])


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


def _kill_groups(procs: list[Proc], grace: float, token: str = "", spare: int | None = None) -> None:
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


class LocalCluster:
    """A controller and ``n`` engines on 127.0.0.1, in their own process groups.

    ``owned=True`` (the default) ties the processes to this Python process: they
    are killed if it dies; with ``owned=False`` the cluster outlives it, and
    :func:`reap` (``course cluster stop``) ends it.  (``course cluster start``
    itself goes through ipyparallel's Cluster API, :mod:`procbox.ippcluster`, so
    that JupyterLab's cluster panel sees the cluster; this class starts the
    clusters of the tests, of ``course check`` and of the grader.)
    """

    def __init__(
        self,
        n: int = DEFAULT_ENGINES,
        ipython_dir: str | os.PathLike | None = None,
        profile: str = "default",
        *,
        owned: bool = True,
        heartbeat_ms: int = HEARTBEAT_MS,
        env: dict[str, str] | None = None,
        engine_cwd: str | os.PathLike | None = None,
        engine_jail: list[str] | None = None,
        fork: bool = False,
        engine_profile_dir: str | os.PathLike | None = None,
        log_level: str = "WARN",
        box=None,
        nanny: bool | None = None,
    ):
        self.n = n
        self.ipython_dir = Path(ipython_dir or default_ipython_dir()).resolve()
        self.profile_dir = profile_dir_for(self.ipython_dir, profile)
        self.owned = owned
        self.heartbeat_ms = heartbeat_ms
        self.env = env
        self.engine_cwd = engine_cwd
        self.engine_jail = engine_jail or []  # procbox.jail options that confine each engine
        if fork and not owned:
            raise ValueError("fork=True needs an owned cluster: forked processes die with their owner")
        self.fork = fork  # start processes from a fork server (see procbox.forkserver)
        self._forkserver: ForkServer | None = None
        self.engine_profile_dir = engine_profile_dir  # where engines read their connection file
        self.log_level = log_level
        self.box = box  # a procbox.box.Box: every process starts in it (and dies with it)
        # Each engine's nanny (a process ipyparallel starts beside every engine, as it does by default) relays
        # signals: rc.send_signal(), and the SIGINT %px sends on Ctrl-C, which without a nanny waits for ever.
        # Forked and boxed clusters (course check, the grader) run without: no one interrupts them from a
        # notebook, and a nanny is a fresh interpreter per engine (see README: "Engines and their nannies").
        self.nanny = (not fork and box is None) if nanny is None else nanny
        if box is not None and (fork or engine_jail):
            raise ValueError("a boxed cluster is forked by its box, which also confines it")
        self.state: ClusterState | None = None
        self._verified = False  # a boxed cluster passed its check in the box since it started
        self._ports: int | None = None  # the first of this controller's block of ports (see reserve_port_block)
        self._popens: list[subprocess.Popen] = []

    @property
    def _started(self) -> ClusterState:
        """The state of the cluster being started or running (what ``start`` made)."""
        assert self.state is not None, "the cluster has not been started"
        return self.state

    # -- paths ---------------------------------------------------------------
    @property
    def security_dir(self) -> Path:
        return self.profile_dir / "security"

    @property
    def state_file(self) -> Path:
        return self.security_dir / STATE_FILE

    @property
    def client_file(self) -> Path:
        return self.security_dir / "ipcontroller-client.json"

    @property
    def engine_file(self) -> Path:
        return self.security_dir / "ipcontroller-engine.json"

    @property
    def log_dir(self) -> Path:
        return self.profile_dir / "log"

    # -- lifecycle -----------------------------------------------------------
    def start(self, timeout: float = 60) -> LocalCluster:
        """Start the controller and engines and wait until all engines answer."""
        running = status_of(self.profile_dir)
        if running and running["running"]:
            raise ClusterError(
                f"a cluster is already running in {self.profile_dir} (controller pid "
                f"{running['controller_pid']}); use it, or stop it first with `course cluster stop`"
            )
        reap_profile_dir(self.profile_dir)  # whatever a crashed run left behind
        for path in (self.client_file, self.engine_file):
            path.unlink(missing_ok=True)
        self.log_dir.mkdir(parents=True, exist_ok=True)
        if self.fork and self._forkserver is None:
            # Forked processes show the fork server's environment in /proc, so it carries the token.
            self._token = uuid.uuid4().hex
            base = os.environ if self.env is None else self.env  # never more than its processes get
            self._forkserver = ForkServer(preexec_fn=die_with(os.getpid()), env={**base, TOKEN_VAR: self._token})
        token = self._token if self.fork else "" if self.box is not None else uuid.uuid4().hex
        self.state = ClusterState(str(self.profile_dir), self.n, os.getpid() if self.owned else None, token=token)
        self._verified = False
        try:
            self._start_controller(timeout)
            self._start_engines(range(self.n))
            self.wait_for_engines(timeout)
        except BaseException:
            self.stop()
            raise
        return self

    def _spawn(self, role: str, args: list[str], engine_id: int | None = None) -> Proc:
        name = role if engine_id is None else f"engine-{engine_id}"
        profile_dir, jail = self.profile_dir, []
        if role == "engine":
            profile_dir, jail = Path(self.engine_profile_dir or self.profile_dir), self.engine_jail
        env = dict(os.environ if self.env is None else self.env)
        env["IPYTHONDIR"] = str(self.ipython_dir if profile_dir == self.profile_dir else profile_dir.parent)
        if self._started.token:
            env[TOKEN_VAR] = self._started.token
        env.setdefault("PYTHONUNBUFFERED", "1")
        cwd = self.engine_cwd if role == "engine" and self.engine_cwd else self.profile_dir
        argv = [f"--profile-dir={profile_dir}", "--cluster-id=", f"--log-level={self.log_level}",
                f"--work-dir={cwd}", *args]
        log = self.log_dir / f"{name}.log"
        ns_pid = None
        if self.box is not None:
            pid, ns_pid = self.box.spawn(role, argv, env=env, cwd=str(cwd), log=str(log))
        elif self._forkserver is not None:
            pid = self._forkserver.spawn(role, argv, env=env, cwd=str(cwd), log=str(log), jail=jail)
        else:
            cmd = [sys.executable, "-m", "procbox._launch", role, *argv]
            if jail:
                cmd = [sys.executable, "-m", "procbox.jail", *jail, "--", *cmd]
            with open(log, "ab") as out, open(os.devnull, "rb") as devnull:
                popen = subprocess.Popen(cmd, stdin=devnull, stdout=out, stderr=subprocess.STDOUT, env=env, cwd=cwd,
                                         start_new_session=True,
                                         preexec_fn=die_with(os.getpid()) if self.owned else None)
            self._popens.append(popen)
            pid = popen.pid
        try:
            proc = Proc(role, pid, psutil.Process(pid).create_time(), engine_id, ns_pid)
        except psutil.NoSuchProcess:
            tail = log.read_text(errors="replace").strip().splitlines()[-3:] if log.exists() else []
            raise ClusterError(f"{name} exited as soon as it started; its log {log} ends: "
                               + " | ".join(tail)) from None
        if role == "controller":
            self._started.controller = proc
        else:
            self._started.engines.append(proc)
        self._started.save(self.state_file)
        return proc

    def _start_controller(self, timeout: float) -> None:
        # Schedulers in threads, not child processes: the controller is one process.
        misses = max(10, -(-HEART_TOLERANCE_MS // self.heartbeat_ms))
        own_network = self.box is not None and self.box.policy.own_network
        self._ports = BOX_PORTS if own_network else reserve_port_block()
        ports = [f"--IPController.ports={self._ports}-{self._ports + PORT_BLOCK - 1}"] if self._ports else []
        proc = self._spawn("controller", ["--ip=127.0.0.1", *ports, f"--HeartMonitor.period={self.heartbeat_ms}",
                                          f"--HeartMonitor.max_heartmonitor_misses={misses}",
                                          "--IPController.use_threads=True"])
        deadline = time.monotonic() + timeout
        while not (_complete_json(self.engine_file) and _complete_json(self.client_file)):
            if not proc.alive():
                raise ClusterError(f"the controller exited at start; see {self.log_dir / 'controller.log'}")
            if time.monotonic() > deadline:
                raise ClusterError(f"the controller wrote no connection file in {timeout:.0f} s")
            time.sleep(0.02)

    def _start_engines(self, ids) -> None:
        if self.engine_profile_dir:
            security = Path(self.engine_profile_dir) / "security"
            security.mkdir(parents=True, exist_ok=True)
            copy = security / self.engine_file.name
            shutil.copy(self.engine_file, copy)
            if os.geteuid() == 0:  # readable by the engines' user, as the controller's own file is
                owner = self.engine_file.stat()
                os.chown(copy, owner.st_uid, owner.st_gid)
        for i in ids:
            # no input history: an engine has no user typing into it
            self._spawn("engine", [f"--IPEngine.id={i}", f"--IPEngine.enable_nanny={self.nanny}",
                                   "--HistoryManager.enabled=False"], engine_id=i)

    def fork_kernel(self, argv: list[str], *, env: dict, cwd: str | os.PathLike, jail: list[str] | None = None,
                    log: str | os.PathLike | None = None) -> int:
        """Fork an IPython kernel (``ipykernel_launcher`` arguments) from this cluster's fork server; its PID.

        The kernel carries the cluster's token, so :meth:`stop` also finds whatever
        it started, even processes that left its process group.
        """
        if self._forkserver is None or self.state is None:
            raise ClusterError("fork_kernel needs a started cluster with fork=True")
        env = {**env, TOKEN_VAR: self.state.token}
        return self._forkserver.spawn("kernel", list(argv), env=env, cwd=str(cwd),
                                      log=str(log or self.log_dir / "kernel.log"), jail=jail)

    def client(self, timeout: float = 30):
        """A new ``ipyparallel.Client`` for this cluster (close it when done)."""
        import ipyparallel as ipp

        prepare_canning()
        return ipp.Client(str(self.client_file), timeout=timeout)

    def wait_for_engines(self, timeout: float = 60) -> None:
        """Wait until engines 0..n-1 are registered; ClusterError if a process dies or time runs out.

        A boxed cluster is checked from inside its box (:func:`check_engines` in a process of the box's
        own, since its controller listens in the box's network): that also verifies the engines' PIDs.
        """
        if self.box is not None:
            self._check_in_box(timeout)
            return
        with contextlib.closing(await_engines(self.client, self.n, timeout, self._raise_if_exited, self.log_dir)):
            pass

    def _check_in_box(self, timeout: float) -> None:
        expected = {str(p.engine_id): p.ns_pid for p in self._started.engines}
        result = self.log_dir / "verify.json"
        result.unlink(missing_ok=True)
        argv = [json.dumps({"client_file": str(self.client_file), "n": self.n, "expected": expected,
                            "timeout": timeout, "out": str(result)})]
        env = dict(os.environ if self.env is None else self.env, IPYTHONDIR=str(self.ipython_dir))
        try:
            self.box.run("verify", argv, env=env, cwd=str(self.profile_dir), log=str(self.log_dir / "verify.log"),
                         timeout=timeout + 5, still_ok=self._raise_if_exited)
        except ClusterError:
            raise
        except Exception as e:  # the box failed to run it: the cluster is not verified
            raise ClusterError(f"the cluster could not be checked in its box: {e}") from e
        try:
            answer = json.loads(result.read_text())
        except (OSError, ValueError):
            self._raise_if_exited()
            raise ClusterError(f"the check of the engines said nothing; see {self.log_dir / 'verify.log'}") from None
        if answer.get("error"):
            self._raise_if_exited()
            raise ClusterError(answer["error"])
        self._verified = True

    def _raise_if_exited(self) -> None:
        dead = [p for p in self._started.procs() if not p.alive()]
        if dead:
            name = dead[0].role if dead[0].engine_id is None else f"engine-{dead[0].engine_id}"
            log = self.log_dir / f"{name}.log"
            tail = log.read_text(errors="replace").strip().splitlines()[-3:] if log.exists() else []
            raise ClusterError(f"{name} (pid {dead[0].pid}) exited; its log {log} ends: "
                               + " | ".join(tail))

    def verify(self, timeout: float = 10) -> None:
        """Raise ClusterError unless ids are 0..n-1 and each is one of our engine processes."""
        if self.state is None:
            raise ClusterError("the cluster is not started")
        self._raise_if_exited()
        if self.box is not None:
            if not self._verified:
                self._check_in_box(timeout)
            return
        try:
            with contextlib.closing(self.client(timeout)) as rc:
                problem = _engine_problem(rc, self.n, {p.engine_id: p.pid for p in self.state.engines}, timeout)
        except Exception as e:
            self._raise_if_exited()
            raise ClusterError(f"the engines did not answer: {e!r}") from e
        if problem:
            self._raise_if_exited()  # a process that died since the first look is the cause to name
            raise ClusterError(problem)

    def restart(self, timeout: float = 60) -> None:
        """Replace every process by a fresh one: nothing survives from before."""
        self.stop(grace=0, keep_forkserver=True)
        self.start(timeout)

    def stop(self, grace: float = 3, keep_forkserver: bool = False) -> None:
        """Stop every process this cluster started (process groups, by PID); remove its files."""
        if self.state is not None and self.box is None:  # a box ends its processes itself (Box.close)
            _kill_groups(self.state.procs(), grace, self.state.token,
                         spare=self._forkserver.pid if self._forkserver else None)
        if self._forkserver is not None and not keep_forkserver:
            self._forkserver.close()  # after the kills, so it reaps its children before it exits
            self._forkserver = None
        for popen in self._popens:  # reap our children so no zombie is left
            with contextlib.suppress(Exception):
                popen.wait(timeout=1)
        self._popens.clear()
        for path in (self.client_file, self.engine_file, self.state_file):
            path.unlink(missing_ok=True)
        self.state = None
        if self._ports != BOX_PORTS:
            release_port_block(self._ports)
        self._ports = None

    def pids(self) -> list[int]:
        return [p.pid for p in self.state.procs()] if self.state else []

    def __enter__(self) -> LocalCluster:
        return self.start()

    def __exit__(self, *exc) -> None:
        self.stop()


def reap_profile_dir(profile_dir: str | os.PathLike) -> list[int]:
    """Stop the processes recorded in a profile's state file (a crashed run's); return their PIDs."""
    path = Path(profile_dir) / "security" / STATE_FILE
    state = ClusterState.load(path)
    if state is None:
        return []
    live = [p for p in state.procs() if p.alive()]
    _kill_groups(state.procs(), grace=3, token=state.token)
    for name in (STATE_FILE, "ipcontroller-client.json", "ipcontroller-engine.json"):
        (path.parent / name).unlink(missing_ok=True)
    return [p.pid for p in live]


def reap(ipython_dir=None, profile: str = "default") -> list[int]:
    return reap_profile_dir(profile_dir_for(ipython_dir, profile))


def status(ipython_dir=None, profile: str = "default") -> dict | None:
    """What the state file says, and which of its processes are alive; None if there is none."""
    return status_of(profile_dir_for(ipython_dir, profile))


def status_of(profile_dir: str | os.PathLike) -> dict | None:
    profile_dir = Path(profile_dir)
    state = ClusterState.load(profile_dir / "security" / STATE_FILE)
    if state is None:
        return None
    controller_alive = bool(state.controller and state.controller.alive())
    engines = [{"id": e.engine_id, "pid": e.pid, "alive": e.alive()} for e in state.engines]
    return {
        "profile_dir": str(profile_dir),
        "n": state.n,
        "owner_pid": state.owner_pid,
        "controller_pid": state.controller.pid if state.controller else None,
        "controller_alive": controller_alive,
        "engines": engines,
        "running": controller_alive or any(e["alive"] for e in engines),
    }
