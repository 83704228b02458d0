"""A single-node Slurm cluster for the tests: munged, slurmctld and slurmd as this process's own children.

    with single_node_slurm(tmp_path) as env:       # env: os.environ plus SLURM_CONF (and PATH)
        subprocess.run(["sbatch", "--wait", ...], env=env)

Everything lives in one temporary directory (slurm.conf, the munge key and socket, state and spool
directories, logs); the daemons run in the foreground (``-D`` / ``-F``), each in a process group of its
own, so teardown stops them by PID, also when the test failed.  Teardown first cancels every job
(``scancel``), waits for the queue to empty, then stops slurmd, slurmctld and munged in that order.

Needs Debian's ``slurm-wlm`` and ``munge`` (``apt-get install --no-install-recommends slurm-wlm munge``):
:func:`missing` says which set-up step is missing, and the tests fail (never skip) with that message.
"""

from __future__ import annotations

import contextlib
import os
import shutil
import signal
import socket
import subprocess
import time
from pathlib import Path

import psutil

from procbox.processes import _running

DAEMONS = {"munged": "/usr/sbin/munged", "slurmctld": "/usr/sbin/slurmctld", "slurmd": "/usr/sbin/slurmd"}
CLIENTS = ("sinfo", "squeue", "sbatch", "scancel", "srun", "scontrol")
INSTALL = "apt-get install -y --no-install-recommends slurm-wlm munge"


def missing() -> str | None:
    """What set-up step is missing for a single-node Slurm, or None."""
    absent = [name for name, path in DAEMONS.items() if not os.access(path, os.X_OK)]
    absent += [name for name in CLIENTS if shutil.which(name) is None]
    if absent:
        return (f"Slurm is not installed: {', '.join(absent)} missing. Install Debian's slurm-wlm and munge "
                f"(as root: apt-get update && {INSTALL}); dev.py/CI must install them")
    return None


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _memory_mb() -> int:
    return int(psutil.virtual_memory().total // 2**20) - 1  # slurmd refuses a node with more than it finds


def write_config(root: Path) -> Path:
    """slurm.conf for one node called localhost, with this machine's CPUs and memory, under ``root``."""
    for sub in ("state", "spool", "log", "run"):
        (root / sub).mkdir(parents=True, exist_ok=True)
    cpus = os.cpu_count() or 1
    conf = root / "slurm.conf"
    conf.write_text(f"""\
# single-node Slurm for the tests (tests/support/slurm.py); no cgroups, no accounting
ClusterName=course-test
SlurmctldHost=localhost(127.0.0.1)
SlurmUser=root
SlurmdUser=root
SlurmctldPort={_free_port()}
SlurmdPort={_free_port()}
AuthType=auth/munge
CredType=cred/munge
AuthInfo=socket={root / 'munge.socket'}
StateSaveLocation={root / 'state'}
SlurmdSpoolDir={root / 'spool'}
SlurmctldPidFile={root / 'run' / 'slurmctld.pid'}
SlurmdPidFile={root / 'run' / 'slurmd.pid'}
SlurmctldLogFile={root / 'log' / 'slurmctld.log'}
SlurmdLogFile={root / 'log' / 'slurmd.log'}
SlurmctldDebug=info
SlurmdDebug=info
ProctrackType=proctrack/linuxproc
TaskPlugin=task/none
JobAcctGatherType=jobacct_gather/none
AccountingStorageType=accounting_storage/none
JobCompType=jobcomp/none
SchedulerType=sched/backfill
SelectType=select/cons_tres
SelectTypeParameters=CR_Core_Memory
MpiDefault=none
ReturnToService=2
SlurmctldTimeout=30
SlurmdTimeout=30
InactiveLimit=0
KillWait=2
MinJobAge=2
NodeName=localhost NodeAddr=127.0.0.1 CPUs={cpus} Boards=1 SocketsPerBoard=1 CoresPerSocket={cpus} \
ThreadsPerCore=1 RealMemory={_memory_mb()} State=UNKNOWN
PartitionName=debug Nodes=localhost Default=YES MaxTime=INFINITE State=UP OverSubscribe=NO
""")
    return conf


def _munge_key(path: Path) -> None:
    path.write_bytes(os.urandom(1024))
    os.chmod(path, 0o400)


class SingleNodeSlurm:
    """The daemons of one test Slurm; :meth:`start` then :meth:`stop` (or use :func:`single_node_slurm`)."""

    def __init__(self, root: str | os.PathLike):
        self.root = Path(root)
        self.procs: dict[str, subprocess.Popen] = {}
        self.env: dict[str, str] = {}

    def _spawn(self, name: str, argv: list[str]) -> subprocess.Popen:
        with open(self.root / "log" / f"{name}.out", "ab") as log, open(os.devnull, "rb") as devnull:
            proc = subprocess.Popen(argv, stdin=devnull, stdout=log, stderr=subprocess.STDOUT, env=self.env,
                                    cwd=self.root, start_new_session=True)
        self.procs[name] = proc
        return proc

    def _log_tail(self, name: str) -> str:
        texts = []
        for path in (self.root / "log" / f"{name}.out", self.root / "log" / f"{name}.log"):
            if path.exists():
                texts += path.read_text(errors="replace").strip().splitlines()[-8:]
        return " | ".join(texts)

    def _alive_or_raise(self) -> None:
        for name, proc in self.procs.items():
            if proc.poll() is not None:
                raise RuntimeError(f"{name} exited with {proc.returncode} at start: {self._log_tail(name)}")

    def start(self, timeout: float = 60) -> dict[str, str]:
        problem = missing()
        if problem:
            raise RuntimeError(problem)
        self.root.mkdir(parents=True, exist_ok=True)
        self.root.chmod(0o755)  # munged refuses group/other-writable directories on its paths
        conf = write_config(self.root)
        key = self.root / "munge.key"
        _munge_key(key)
        self.env = dict(os.environ, SLURM_CONF=str(conf))
        for var in [v for v in self.env if v.startswith("SLURM_") and v != "SLURM_CONF"]:
            del self.env[var]  # a surrounding Slurm job's variables must not leak into ours
        socket_path = self.root / "munge.socket"
        self._spawn("munged", [DAEMONS["munged"], "--foreground", "--force", f"--socket={socket_path}",
                               f"--key-file={key}", f"--log-file={self.root / 'log' / 'munged.log'}",
                               f"--pid-file={self.root / 'run' / 'munged.pid'}",
                               f"--seed-file={self.root / 'state' / 'munged.seed'}", "--num-threads=2"])
        deadline = time.monotonic() + timeout
        while not socket_path.exists():
            self._alive_or_raise()
            if time.monotonic() > deadline:
                raise RuntimeError(f"munged made no socket in {timeout:.0f} s: {self._log_tail('munged')}")
            time.sleep(0.05)
        self._spawn("slurmctld", [DAEMONS["slurmctld"], "-D", "-i", "-f", str(conf)])
        self._spawn("slurmd", [DAEMONS["slurmd"], "-D", "-N", "localhost", "-f", str(conf)])
        state = ""
        while True:
            self._alive_or_raise()
            out = subprocess.run(["sinfo", "-h", "-N", "-o", "%N %t"], env=self.env, capture_output=True, text=True)
            state = (out.stdout or out.stderr).strip()
            if out.returncode == 0 and state.split()[-1:] == ["idle"]:
                return self.env
            if time.monotonic() > deadline:
                raise RuntimeError(f"the node is not idle after {timeout:.0f} s (sinfo: {state!r}); slurmctld: "
                                   f"{self._log_tail('slurmctld')}; slurmd: {self._log_tail('slurmd')}")
            time.sleep(0.2)

    def jobs(self) -> list[str]:
        out = subprocess.run(["squeue", "-h", "-o", "%i"], env=self.env, capture_output=True, text=True)
        return out.stdout.split() if out.returncode == 0 else []

    def stop(self, timeout: float = 30) -> None:
        if self.procs.get("slurmctld") and self.procs["slurmctld"].poll() is None:
            with contextlib.suppress(OSError):
                subprocess.run(["scancel", "--full", "--quiet", "--user=root"], env=self.env, timeout=15,
                               capture_output=True)
            deadline = time.monotonic() + timeout
            while self.jobs() and time.monotonic() < deadline:
                time.sleep(0.2)
        for name in ("slurmd", "slurmctld", "munged"):
            proc = self.procs.pop(name, None)
            if proc is None:
                continue
            stop_group(proc)
        # slurmstepd processes of jobs are slurmd's children in its group; anything left of a job is gone with it


def stop_group(proc: subprocess.Popen, grace: float = 10) -> None:
    """SIGTERM the process group ``proc`` leads, then SIGKILL what is left of it after ``grace`` s; reap it."""
    members = _members(proc.pid)
    for sig in (signal.SIGTERM, signal.SIGKILL):
        with contextlib.suppress(ProcessLookupError, PermissionError):
            os.killpg(proc.pid, sig)
        with contextlib.suppress(ProcessLookupError):
            if proc.poll() is None:
                os.kill(proc.pid, sig)
        deadline = time.monotonic() + (grace if sig == signal.SIGTERM else 5)
        while time.monotonic() < deadline:
            proc.poll()
            members = [m for m in members if _running(m)]
            if proc.returncode is not None and not members:
                return
            time.sleep(0.05)
        for m in members:
            with contextlib.suppress(psutil.Error):
                m.kill()
    with contextlib.suppress(subprocess.TimeoutExpired):
        proc.wait(timeout=5)


def _members(pgid: int) -> list[psutil.Process]:
    found = []
    for p in psutil.process_iter():
        with contextlib.suppress(psutil.Error, ProcessLookupError):
            if os.getpgid(p.pid) == pgid:
                found.append(p)
    return found


@contextlib.contextmanager
def single_node_slurm(root: str | os.PathLike, timeout: float = 60):
    """Start a single-node Slurm in ``root``; yield its environment (SLURM_CONF); stop it, also on failure."""
    slurm = SingleNodeSlurm(root)
    try:
        yield slurm.start(timeout)
    finally:
        slurm.stop()
