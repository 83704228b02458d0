"""Clusters started by ipyparallel's own launchers (local, MPI, Slurm) that outlive the command that started them.

``course cluster start [--launcher local|mpi|slurm]`` builds an :class:`ipyparallel.Cluster` from the profile
the course ships (``profiles/<launcher>/ipcluster_config.py``, copied into the IPython profile), with
``cluster_id=""`` (so a bare ``ipp.Client()`` connects) and ``shutdown_atexit=False``, starts it, waits for the
engines and exits.  ipyparallel records the cluster in its cluster file (``<profile>/security/cluster-.json``:
the controller's PID, each engine's PID, mpiexec's PID or the Slurm job id): that is the file JupyterLab's
*IPython Parallel* panel lists, so the panel shows the course cluster as running and its STOP stops it.  The
other way round, a cluster the panel (or ``ipcluster start``) started in the profile has such a file and no
record of the course's: :func:`status` and :func:`stop` load it with :meth:`ipyparallel.Cluster.from_file`
(which is how the panel does it) and stop it with the cluster's own ``stop_cluster``.

That alone does not promise that nothing is left (mpiexec may die before its ranks, a Slurm job may be
cancelled while its tasks still run, a nanny may outlive its engine for a moment), so the course also writes a
record of its own next to it (``course-ipp-cluster.json``): every PID on this machine that belongs to the
cluster (controller, engines and their nannies, mpiexec and its descendants) with its start time, and a token
that every process of the cluster inherits in its environment.  After the cluster's own stop, :func:`stop`
waits for each of those PIDs to be gone, and SIGKILLs, by PID, whichever is not (and any process carrying the
token).  For a cluster someone else started, the record is made from its cluster file when it is stopped.
"""

from __future__ import annotations

import contextlib
import logging
import os
import shutil
import socket
import subprocess
import time
import uuid
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import psutil

from .cluster import prepare_canning, profile_dir_for
from .ports import controller_ports_arg, release_port_block, reserve_port_block
from .processes import TOKEN_VAR, ClusterError, Proc, StateFile, carrying

LAUNCHERS = ("local", "mpi", "slurm")
RECORD_FILE = "course-ipp-cluster.json"
CLUSTER_ID = ""  # so that ipp.Client() with no arguments finds ipcontroller-client.json
PROFILES = Path(__file__).resolve().parent / "profiles"
MARKER = "# The course's ipyparallel profile"  # first line of the files in profiles/


def course_profile(launcher: str) -> Path:
    return PROFILES / launcher / "ipcluster_config.py"


@dataclass
class Record(StateFile):
    """What the course knows about one cluster beyond ipyparallel's cluster file."""

    launcher: str
    profile_dir: str
    cluster_file: str
    n: int
    token: str
    hostname: str
    controller: Proc | None = None
    procs: list[Proc] = field(default_factory=list)  # every other local process: mpiexec, proxies, engines
    engines: list[dict] = field(default_factory=list)  # {"id", "pid", "host", "rank"} as the engines said
    job_id: str | None = None

    PROC_LISTS = ("procs",)  # StateFile: fields holding lists of Proc

    def all_procs(self) -> list[Proc]:
        return ([self.controller] if self.controller else []) + list(self.procs)


def _proc(role: str, pid: int, engine_id: int | None = None) -> Proc | None:
    try:
        return Proc(role, pid, psutil.Process(pid).create_time(), engine_id)
    except psutil.Error:
        return None


def record_path(profile_dir: Path) -> Path:
    return Path(profile_dir) / "security" / RECORD_FILE


def cluster_file_for(profile_dir: Path) -> Path:
    return Path(profile_dir) / "security" / f"cluster-{CLUSTER_ID}.json"


def install_profile(launcher: str, profile_dir: Path, *, replace_course_profile: bool = True) -> Path:
    """Copy the course's ipcluster_config.py for ``launcher`` into the profile (a file of the user's is kept; one
    of the course's for another launcher is replaced, unless ``replace_course_profile`` is False)."""
    profile_dir.mkdir(parents=True, exist_ok=True)
    target = profile_dir / "ipcluster_config.py"
    ours = course_profile(launcher)
    if not target.exists() or (replace_course_profile and target.read_text(errors="replace").startswith(MARKER)):
        tmp = target.with_suffix(".tmp")
        shutil.copy(ours, tmp)
        os.replace(tmp, target)
    return target


def _load_config(path: Path):
    from traitlets.config.loader import PyFileConfigLoader

    return PyFileConfigLoader(path.name, str(path.parent)).load_config()


def _descendants(pid: int) -> list[psutil.Process]:
    try:
        return psutil.Process(pid).children(recursive=True)
    except psutil.Error:
        return []


def _job_state(job_id: str | None) -> str | None:
    """The Slurm job's state (PENDING, RUNNING, ...), or None once the queue no longer lists it."""
    if not job_id or shutil.which("squeue") is None:
        return None
    out = subprocess.run(["squeue", "-h", "-j", str(job_id), "-o", "%T"], capture_output=True, text=True)
    lines = out.stdout.strip().splitlines() if out.returncode == 0 else []
    return lines[0] if lines else None


def _engine_info():
    import os
    import socket

    rank = None
    try:
        import sys

        if "mpi4py.MPI" in sys.modules:
            from mpi4py import MPI

            rank = MPI.COMM_WORLD.Get_rank()
    except Exception:
        pass
    return {"pid": os.getpid(), "host": socket.gethostname(), "rank": rank}


def _log_tail(profile_dir: Path, lines: int = 6) -> str:
    tails = []
    for log in sorted((profile_dir / "log").glob("ip*.log"), key=lambda p: p.stat().st_mtime)[-3:]:
        text = log.read_text(errors="replace").strip().splitlines()[-lines:]
        if text:
            tails.append(f"{log.name}: " + " | ".join(text))
    return "; ".join(tails) or "no logs"


def running_here(profile_dir: Path) -> bool:
    """Is a cluster recorded in this profile (by this module, by ipyparallel's cluster file, or a local one by
    procbox.cluster) still running?"""
    from .cluster import status_of

    rec = Record.load(record_path(profile_dir))
    if rec and any(p.alive() for p in rec.all_procs()):
        return True
    if _foreign_record(profile_dir) is not None:
        return True
    st = status_of(profile_dir)
    return bool(st and st["running"])


def _load_cluster(cluster_file: Path):
    """ipyparallel's Cluster for a cluster file (as JupyterLab's panel loads it), or None if it does not load."""
    import ipyparallel as ipp

    try:
        return ipp.Cluster.from_file(str(cluster_file), log_level=logging.CRITICAL)
    except Exception:  # unreadable, or written by another version: not a cluster we can use
        return None


def _cluster_procs(cluster) -> list[Proc]:
    """The live local processes of an ipyparallel Cluster: its controller, each engine, and their children
    (the engines' nannies, mpiexec's ranks)."""
    found: list[Proc] = []
    ctl = getattr(cluster.controller, "process", None) if cluster.controller is not None else None
    if ctl is not None and (p := _proc("controller", ctl.pid)):
        found.append(p)
        found.extend(c for c in (_proc("scheduler", k.pid) for k in _descendants(ctl.pid)) if c)
    for es in cluster.engines.values():
        launchers = list(getattr(es, "launchers", {}).values()) or [es]
        for launcher in launchers:
            proc = getattr(launcher, "process", None)
            if proc is None or not getattr(proc, "pid", None):
                continue
            if p := _proc("engine-launcher", proc.pid):
                found.append(p)
                found.extend(c for c in (_proc("child", k.pid) for k in _descendants(proc.pid)) if c)
    return found


def _foreign_record(profile_dir: Path) -> Record | None:
    """A record of a running cluster that ipyparallel's cluster file describes but the course did not start
    (JupyterLab's panel, ``ipcluster start``); None if there is none."""
    profile_dir = Path(profile_dir)
    cluster_file = cluster_file_for(profile_dir)
    if Record.load(record_path(profile_dir)) is not None or not cluster_file.exists():
        return None
    cluster = _load_cluster(cluster_file)
    if cluster is None or cluster.controller is None:
        return None
    procs = _cluster_procs(cluster)
    if not procs:
        return None
    controller = next((p for p in procs if p.role == "controller"), None)
    n = sum(getattr(es, "n", 0) or 0 for es in cluster.engines.values())
    return Record(launcher=type(cluster.engine_set).__name__ if cluster.engine_set else "none",
                  profile_dir=str(profile_dir), cluster_file=str(cluster_file), n=n, token="",
                  hostname=socket.gethostname(), controller=controller,
                  procs=[p for p in procs if p is not controller])


def start(launcher: str, n: int = 4, profile: str = "default", ipython_dir=None, timeout: float = 120,
          log_level: int = logging.WARNING) -> Record:
    """Start a controller and ``n`` engines with ipyparallel's ``launcher`` ("mpi" or "slurm"), detached.

    Returns once engines 0..n-1 answered; on any failure everything started is stopped and ClusterError raised.
    """
    import ipyparallel as ipp

    if launcher not in LAUNCHERS:
        raise ClusterError(f"unknown launcher {launcher!r}: use one of local, {', '.join(LAUNCHERS)}")
    profile_dir = profile_dir_for(ipython_dir, profile)
    if running_here(profile_dir):
        raise ClusterError(f"a cluster is already running in {profile_dir}; stop it first (course cluster stop"
                           + ("" if profile == "default" else f" --profile {profile}") + ")")
    reap(profile_dir)  # a record of a crashed start: nothing of it must be left
    problem: str | None = ""
    if launcher == "mpi":
        from .preflight import mpi_problem

        problem = mpi_problem()
    elif launcher == "slurm":
        from .preflight import slurm_problem

        problem = slurm_problem()
    if problem:
        raise ClusterError(problem)
    config_file = install_profile(launcher, profile_dir)
    token = uuid.uuid4().hex
    rec = Record(launcher=launcher, profile_dir=str(profile_dir), cluster_file=str(cluster_file_for(profile_dir)),
                 n=n, token=token, hostname=socket.gethostname())
    path = record_path(profile_dir)
    ports = reserve_port_block()
    env = {TOKEN_VAR: token, "IPYTHONDIR": str(profile_dir.parent)}
    config = _load_config(config_file)
    # ipyparallel writes the job script into the current directory unless given a path: keep it in the profile
    config.SlurmEngineSetLauncher.batch_file_name = str(profile_dir / "log" / "slurm_engine.sbatch")
    config.SlurmControllerLauncher.batch_file_name = str(profile_dir / "log" / "slurm_controller.sbatch")
    (profile_dir / "log").mkdir(parents=True, exist_ok=True)
    cluster = ipp.Cluster(profile_dir=str(profile_dir), cluster_id=CLUSTER_ID, n=n, shutdown_atexit=False,
                          config=config, load_profile=False, log_level=log_level)
    if ports:
        cluster.controller_args = [*cluster.controller_args, controller_ports_arg(ports)]
    try:
        cluster.start_controller_sync(environment=dict(env))
        rec.controller = _proc("controller", cluster.controller.process.pid)
        rec.save(path)
        cluster.start_engines_sync(n, environment=dict(env))
        engine_set = next(iter(cluster.engines.values()))
        if launcher == "local":
            rec.procs = [p for p in _cluster_procs(cluster) if p.role != "controller"]
        elif launcher == "mpi":
            mpiexec = _proc("mpiexec", engine_set.process.pid)
            rec.procs = [p for p in [mpiexec] if p]
        else:
            rec.job_id = str(engine_set.job_id)
        rec.save(path)
        _wait_for_engines(cluster, rec, timeout)
        _record_engines(rec)
        rec.save(path)
    except BaseException as e:
        with contextlib.suppress(Exception):
            _stop(rec, cluster)
        path.unlink(missing_ok=True)
        if isinstance(e, ClusterError):
            raise
        raise ClusterError(f"{launcher} cluster did not start: {e!r}; {_log_tail(profile_dir)}") from e
    finally:
        release_port_block(ports)
    return rec


def client(profile_dir: Path, timeout: float = 10):
    import ipyparallel as ipp

    prepare_canning()
    return ipp.Client(str(Path(profile_dir) / "security" / f"ipcontroller{'-' + CLUSTER_ID if CLUSTER_ID else ''}"
                                                           "-client.json"), timeout=timeout)


def _wait_for_engines(cluster, rec: Record, timeout: float) -> None:
    """Until ids 0..n-1 registered; a client that has not seen them within a second is replaced (slow joiner)."""
    profile_dir = Path(rec.profile_dir)
    deadline = time.monotonic() + timeout
    ids: list[int]
    rc, since, ids = None, 0.0, []
    try:
        while True:
            if rec.controller and not rec.controller.alive():
                raise ClusterError(f"the controller exited; {_log_tail(profile_dir)}")
            if rec.launcher == "mpi" and rec.procs and not rec.procs[0].alive():
                raise ClusterError(f"mpiexec exited before the engines registered; {_log_tail(profile_dir)}")
            if rec.launcher == "slurm":
                state = _job_state(rec.job_id)
                if state is None or state in ("FAILED", "CANCELLED", "COMPLETED", "TIMEOUT", "NODE_FAIL"):
                    raise ClusterError(f"Slurm job {rec.job_id} is {state or 'gone'}; {_log_tail(profile_dir)}")
            if time.monotonic() > deadline:
                raise ClusterError(f"engines registered in {timeout:.0f} s: {ids} of {rec.n}; {_log_tail(profile_dir)}")
            if rc is None:
                try:
                    rc = client(profile_dir, timeout=min(5.0, max(0.1, deadline - time.monotonic())))
                    since = time.monotonic()
                except (TimeoutError, OSError):
                    continue
            ids = sorted(rc.ids)
            if ids == list(range(rec.n)):
                info = rc[:].apply_async(_engine_info).get(timeout=max(5.0, deadline - time.monotonic()))
                rec.engines = [{"id": i, **d} for i, d in zip(rc.ids, info)]
                return
            if time.monotonic() - since > 1.0:
                rc.close()
                rc = None
                continue
            time.sleep(0.05)
    finally:
        if rc is not None:
            rc.close()


def _record_engines(rec: Record) -> None:
    """Add every local process of the cluster to the record: mpiexec's descendants, engines that run here."""
    known = {p.pid for p in rec.all_procs()}
    for p in list(rec.procs):
        for child in _descendants(p.pid):
            if child.pid not in known and (proc := _proc("child", child.pid)):
                rec.procs.append(proc)
                known.add(child.pid)
    for e in rec.engines:
        if e["host"] == rec.hostname and e["pid"] not in known and (proc := _proc("engine", e["pid"], e["id"])):
            rec.procs.append(proc)
            known.add(e["pid"])
    for proc in carrying(rec.token):  # e.g. a Slurm job's srun and slurmstepd children on this machine
        if proc.pid not in known and (found := _proc("token", proc.pid)):
            rec.procs.append(found)
            known.add(proc.pid)
    for p in rec.procs:
        for e in rec.engines:
            if e["pid"] == p.pid and e["host"] == rec.hostname:
                p.role, p.engine_id = "engine", e["id"]


def status(profile: str = "default", ipython_dir=None) -> dict | None:
    """The cluster's state from ipyparallel's cluster file and the course's record; None if neither exists."""
    return status_of(profile_dir_for(ipython_dir, profile))


def status_of(profile_dir: Path) -> dict | None:
    profile_dir = Path(profile_dir)
    rec = Record.load(record_path(profile_dir))
    if rec is None and (rec := _foreign_record(profile_dir)) is not None:
        _ask_engines(rec)
    cluster_file = cluster_file_for(profile_dir)
    if rec is None and not cluster_file.exists():
        return None
    if rec is not None and not cluster_file.exists() and not any(p.alive() for p in rec.all_procs()):
        return None  # stopped by someone else (JupyterLab's panel): a record of processes that are all gone
    ours = record_path(profile_dir).exists()
    info: dict[str, Any] = {
        "profile_dir": str(profile_dir), "launcher": rec.launcher if rec else None, "cluster_file": None,
        "started_by": "course cluster start" if ours else "ipyparallel (JupyterLab's panel or ipcluster)",
        "controller_pid": None, "controller_alive": False, "engine_sets": [], "engines": [], "job_state": None}
    if cluster_file.exists():
        import ipyparallel as ipp

        info["cluster_file"] = str(cluster_file)
        with contextlib.suppress(Exception):
            cluster = ipp.Cluster.from_file(str(cluster_file), log_level=logging.CRITICAL)
            if cluster.controller is not None:
                info["controller_pid"] = cluster.controller.process.pid
            for set_id, es in cluster.engines.items():
                info["engine_sets"].append({"id": set_id, "launcher": type(es).__name__,
                                            "pid": getattr(es, "pid", None), "job_id": getattr(es, "job_id", None),
                                            "n": es.n})
            info["launcher"] = (info["launcher"]
                                or type(cluster.engines and next(iter(cluster.engines.values()))).__name__)
    if rec is not None:
        info["controller_pid"] = info["controller_pid"] or (rec.controller.pid if rec.controller else None)
        info["controller_alive"] = bool(rec.controller and rec.controller.alive())
        live = {p.pid: p.alive() for p in rec.procs}
        for e in rec.engines:
            local = e["host"] == rec.hostname
            info["engines"].append({**e, "alive": live.get(e["pid"]) if local else None})
        info["job_state"] = _job_state(rec.job_id)
        info["job_id"] = rec.job_id
    info["running"] = info["controller_alive"] or any(e["alive"] for e in info["engines"]) or bool(info["job_state"])
    return info


def _stop(rec: Record, cluster=None, grace: float = 10) -> list[int]:
    """The cluster's own stop, then: every recorded PID gone (SIGKILL by PID after ``grace``); the live PIDs."""
    import ipyparallel as ipp

    live = [p for p in rec.all_procs() if p.alive()]
    if cluster is None and Path(rec.cluster_file).exists():
        with contextlib.suppress(Exception):
            cluster = ipp.Cluster.from_file(rec.cluster_file, log_level=logging.CRITICAL)
    if cluster is not None:  # engines first: with the controller gone as well, mpiexec's ranks take seconds longer
        # ipyparallel 9.2 stops local engines one after another (SIGTERM, then a blocking wait of about 2 s each):
        # send each its SIGTERM at once, as its launcher would, so they exit side by side.
        local = rec.launcher in ("local", "LocalEngineSetLauncher")  # MPI ranks are mpiexec's to stop
        for p in rec.procs if local else []:
            if p.role in ("engine", "engine-launcher") and (proc := p.process()) is not None:
                with contextlib.suppress(psutil.Error):
                    proc.terminate()
        with contextlib.suppress(Exception):
            cluster.stop_engines_sync()
        with contextlib.suppress(Exception):
            cluster.stop_controller_sync()
    elif rec.job_id and shutil.which("scancel"):
        subprocess.run(["scancel", str(rec.job_id)], capture_output=True)
    deadline = time.monotonic() + grace
    while time.monotonic() < deadline and (any(p.alive() for p in rec.all_procs()) or _job_state(rec.job_id)):
        time.sleep(0.1)
    for p in rec.all_procs():
        if (proc := p.process()) is not None:
            with contextlib.suppress(psutil.Error):
                proc.kill()
    for proc in carrying(rec.token):
        with contextlib.suppress(psutil.Error):
            proc.kill()
    deadline = time.monotonic() + 5
    while time.monotonic() < deadline and any(p.alive() for p in rec.all_procs()):
        time.sleep(0.05)
    security = Path(rec.profile_dir) / "security"
    for name in (Path(rec.cluster_file).name, "ipcontroller-client.json", "ipcontroller-engine.json", RECORD_FILE):
        (security / name).unlink(missing_ok=True)
    return [p.pid for p in live]


def _ask_engines(rec: Record, timeout: float = 5) -> None:
    """Fill in ``rec.engines`` of a cluster the course did not start, by asking its engines (their ids, PIDs,
    hosts); the engines' processes as its cluster file lists them if they do not answer in time (busy)."""
    try:
        rc = client(Path(rec.profile_dir), timeout=timeout)
        try:
            info = rc[:].apply_async(_engine_info).get(timeout=timeout) if rc.ids else []
            rec.engines = [{"id": i, **d} for i, d in zip(rc.ids, info)]
        finally:
            rc.close()
    except Exception:  # busy or unreachable engines: what the cluster file says
        rec.engines = [{"id": None, "pid": p.pid, "host": rec.hostname, "rank": None}
                       for p in rec.procs if p.role == "engine-launcher"]
    _record_engines(rec)


def reap(profile_dir: Path) -> list[int]:
    """Stop the cluster recorded in this profile (also one whose start crashed, or one that JupyterLab's panel or
    ``ipcluster`` started, from ipyparallel's cluster file); the PIDs that were alive."""
    rec = Record.load(record_path(profile_dir))
    if rec is None:
        rec = _foreign_record(profile_dir)
    if rec is None:
        return []
    return _stop(rec)


def stop(profile: str = "default", ipython_dir=None) -> list[int]:
    return reap(profile_dir_for(ipython_dir, profile))
