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

The controller's heartbeat is shortened (every 500 ms instead of 3 s, still allowing
5 s of silence before an engine counts as dead) and the engines start as soon
as the controller has written its connection file: four engines are ready in
about 1.5 s when forked from a fork server (:class:`procbox.spawners.Forked`)
instead of about 7 s with ipyparallel's defaults.  An engine registers on the
second heartbeat after it connects, so a shorter period starts a cluster sooner
(100 ms: about 0.7 s) but costs CPU for as long as the cluster lives, idle or
not: 100 ms costs about four times as much CPU per idle minute as 500 ms, and
the grader keeps a prepared cluster waiting beside every running one.  Run
``python benchmarks/cluster_start.py`` and ``python benchmarks/cluster_idle.py``
to measure both.  The controller's ports come from a block below the machine's
ephemeral port range (:func:`reserve_port_block`), so no outgoing connection
can take one of them before the controller binds it.
"""

from __future__ import annotations

import contextlib
import json
import os
import shutil
import threading
import time
from dataclasses import dataclass, field
from pathlib import Path

import psutil

from .liveness import await_engines, engine_problem
from .ports import BOX_PORTS, controller_ports_arg, release_port_block, reserve_port_block
from .processes import TOKEN_VAR, ClusterError, Proc, StateFile, complete_json, kill_groups
from .spawners import Processes, Spawner

DEFAULT_ENGINES = 4
HEARTBEAT_MS = 500  # the controller's heartbeat period (see the module's docstring: start time against idle CPU)
HEART_TOLERANCE_MS = 5000  # an engine is declared dead after this long without a heartbeat
STATE_FILE = "course-cluster.json"


def default_ipython_dir() -> Path:
    from IPython.paths import get_ipython_dir

    return Path(get_ipython_dir())


def profile_dir_for(ipython_dir: str | os.PathLike | None = None, profile: str = "default") -> Path:
    return Path(ipython_dir or default_ipython_dir()) / f"profile_{profile}"


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




_canning_lock = threading.Lock()


def prepare_canning() -> None:
    """Have ipyparallel resolve its serialization tables now, once, under a lock.

    It does so lazily on first use, and two threads doing it at once (two
    grading workers verifying their clusters) can fail with a KeyError.
    """
    from ipyparallel.serialize import canning

    with _canning_lock:
        canning.uncan(canning.can(0))


class LocalCluster:
    """A controller and ``n`` engines on 127.0.0.1, in their own process groups.

    Its ``spawner`` (:mod:`procbox.spawners`) says how its processes start: new
    processes (the default, :class:`~procbox.spawners.Processes`), forks of a
    fork server (:class:`~procbox.spawners.Forked`) or processes of a sealed box
    (:class:`~procbox.spawners.Boxed`).  Owned processes (the default) are killed
    if this Python process dies; with ``Processes(owned=False)`` the cluster
    outlives it, and :func:`reap` (``course cluster stop``) ends it.  (``course cluster start``
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
        spawner: Spawner | None = None,
        heartbeat_ms: int = HEARTBEAT_MS,
        env: dict[str, str] | None = None,
        engine_cwd: str | os.PathLike | None = None,
        engine_profile_dir: str | os.PathLike | None = None,
        log_level: str = "WARN",
        nanny: bool | None = None,
    ):
        self.n = n
        self.ipython_dir = Path(ipython_dir or default_ipython_dir()).resolve()
        self.profile_dir = profile_dir_for(self.ipython_dir, profile)
        self.spawner = spawner or Processes()  # how its processes start: procbox.spawners
        self.heartbeat_ms = heartbeat_ms
        self.env = env
        self.engine_cwd = engine_cwd
        self.engine_profile_dir = engine_profile_dir  # where engines read their connection file
        self.log_level = log_level
        # Each engine's nanny (a process ipyparallel starts beside every engine, as it does by default) relays
        # signals: rc.send_signal(), and the SIGINT %px sends on Ctrl-C, which without a nanny waits for ever.
        # Forked and boxed clusters (course check, the grader) run without: no one interrupts them from a
        # notebook, and a nanny is a fresh interpreter per engine (lesson 16 interrupts engines through theirs).
        self.nanny = isinstance(self.spawner, Processes) if nanny is None else nanny
        self.state: ClusterState | None = None
        self._verified = False  # a boxed cluster passed its check in the box since it started
        self._ports: int | None = None  # the first of this controller's block of ports (see reserve_port_block)

    @property
    def box(self):
        """The :class:`procbox.box.Box` every process starts in (and dies with), if the spawner is
        :class:`procbox.spawners.Boxed`."""
        return self.spawner.box

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
        self.spawner.open(dict(os.environ if self.env is None else self.env))
        self.state = ClusterState(str(self.profile_dir), self.n, os.getpid() if self.spawner.owned else None,
                                  token=self.spawner.token)
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
        profile_dir = self.profile_dir
        if role == "engine":
            profile_dir = Path(self.engine_profile_dir or self.profile_dir)
        env = dict(os.environ if self.env is None else self.env)
        env["IPYTHONDIR"] = str(self.ipython_dir if profile_dir == self.profile_dir else profile_dir.parent)
        if self._started.token:
            env[TOKEN_VAR] = self._started.token
        env.setdefault("PYTHONUNBUFFERED", "1")
        cwd = self.engine_cwd if role == "engine" and self.engine_cwd else self.profile_dir
        argv = [f"--profile-dir={profile_dir}", "--cluster-id=", f"--log-level={self.log_level}",
                f"--work-dir={cwd}", *args]
        log = self.log_dir / f"{name}.log"
        pid, ns_pid = self.spawner.spawn(role, argv, env=env, cwd=str(cwd), log=str(log), confine=role == "engine")
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
        self._ports = BOX_PORTS if self.spawner.own_network else reserve_port_block()
        ports = [controller_ports_arg(self._ports)] if self._ports else []
        proc = self._spawn("controller", ["--ip=127.0.0.1", *ports, f"--HeartMonitor.period={self.heartbeat_ms}",
                                          f"--HeartMonitor.max_heartmonitor_misses={misses}",
                                          "--IPController.use_threads=True"])
        deadline = time.monotonic() + timeout
        while not (complete_json(self.engine_file) and complete_json(self.client_file)):
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

    def start_kernel(self, argv: list[str], *, env: dict, cwd: str | os.PathLike,
                     log: str | os.PathLike | None = None) -> int:
        """Start an IPython kernel (``ipykernel_launcher`` arguments) as this cluster starts its engines (its
        spawner: forked, boxed, confined as they are); its PID as this process sees it.

        The kernel carries the cluster's token, so :meth:`stop` also finds whatever
        it started, even processes that left its process group.
        """
        if self.state is None:
            raise ClusterError("start_kernel needs a started cluster")
        env = {**env, TOKEN_VAR: self.state.token} if self.state.token else dict(env)
        log = str(log or self.log_dir / "kernel.log")
        return self.spawner.spawn("kernel", list(argv), env=env, cwd=str(cwd), log=log, confine=True)[0]

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
        assert self.box is not None, "only a boxed cluster is checked from inside its box"
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
                problem = engine_problem(rc, self.n, {p.engine_id: p.pid for p in self.state.engines}, timeout)
        except Exception as e:
            self._raise_if_exited()
            raise ClusterError(f"the engines did not answer: {e!r}") from e
        if problem:
            self._raise_if_exited()  # a process that died since the first look is the cause to name
            raise ClusterError(problem)

    def restart(self, timeout: float = 60) -> None:
        """Replace every process by a fresh one: nothing survives from before."""
        self._stop_processes(grace=0)
        self.start(timeout)

    def stop(self, grace: float = 3) -> None:
        """Stop every process this cluster started (process groups, by PID); remove its files; close its spawner."""
        self._stop_processes(grace)
        self.spawner.close()

    def _stop_processes(self, grace: float) -> None:
        if self.state is not None:
            self.spawner.stop(self.state.procs(), grace)
        for path in (self.client_file, self.engine_file, self.state_file):
            path.unlink(missing_ok=True)
        self.state = None
        # released by who reserved it, not by number: a reserved block may start where a box's own fixed block does
        if not self.spawner.own_network:
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
    kill_groups(state.procs(), grace=3, token=state.token)
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
