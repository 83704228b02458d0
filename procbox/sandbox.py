"""How student code is confined while it is graded (see :mod:`procbox.jail` and the threat model in README.md)."""

from __future__ import annotations

import contextlib
import os
import pwd
import signal
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass, field
from pathlib import Path

import psutil
from jupyter_client.manager import AsyncKernelManager
from traitlets import Any, DottedObjectName, List, Type, Unicode

DEFAULT_MEMORY = 2 * 1024**3  # bytes of data segment per kernel and per engine


@dataclass
class Sandbox:
    """Paths student code must not see, and limits for every kernel and engine."""

    hide: list[Path] = field(default_factory=list)
    memory: int = DEFAULT_MEMORY
    user: str = "nobody"
    requested: bool = True
    active: bool = False
    reason: str = ""

    def __post_init__(self):
        if not self.requested:
            self.reason = "switched off"
        elif os.name != "posix" or not sys.platform.startswith("linux"):
            self.reason = "needs Linux"
        elif os.geteuid() != 0:
            self.reason = "needs the grader to run as root (to switch user and hide files)"
        else:
            try:
                pwd.getpwnam(self.user)
                self.active, self.reason = self._probe()
            except KeyError:
                self.reason = f"there is no user {self.user!r}"

    def _probe(self) -> tuple[bool, str]:
        with tempfile.TemporaryDirectory() as secret:
            Path(secret, "secret").write_text("x")
            check = [sys.executable, "-m", "procbox.jail", "--user", self.user, "--hide", secret, "--private-tmp",
                     "--", sys.executable, "-c", f"import os; print(os.path.exists({secret + '/secret'!r}), os.getuid())"]
            out = subprocess.run(check, capture_output=True, text=True, timeout=30)
        if out.returncode == 0 and out.stdout.split()[:1] == ["False"]:
            return True, ""
        return False, f"the mount namespace did not work here ({(out.stderr or out.stdout).strip()[-200:]})"

    def describe(self) -> str:
        if self.active:
            return (f"sandbox: on: student code runs as {self.user!r}, cannot see {len(self.hide)} instructor "
                    f"path(s), has a private /tmp and {self.memory // 2**20} MiB of memory per process")
        return (f"sandbox: off ({self.reason}): student code runs as this user and can read what it can read, "
                f"including the exercise sources and the gradebook; memory is still limited to "
                f"{self.memory // 2**20} MiB per process")

    def jail_options(self, run_dir: Path, workdir: Path, share: list[Path]) -> list[str]:
        """:mod:`procbox.jail` options that confine one kernel or engine of the run in ``run_dir``."""
        opts = ["--memory", str(self.memory), "--workdir", str(workdir)]
        if self.active:
            opts += ["--user", self.user, "--private-tmp", "--keep", str(run_dir)]
            for path in self.hide:
                opts += ["--hide", str(path)]
            for path in share:
                opts += ["--share", str(path)]
        return opts

    def own(self, path: Path) -> None:
        """Give a run's directory to the sandbox user (so its processes can use it)."""
        if self.active:
            user = pwd.getpwnam(self.user)
            os.chown(path, user.pw_uid, user.pw_gid)


def own_tree(sandbox: Sandbox, top: Path) -> None:
    for folder, dirs, files in os.walk(top):
        sandbox.own(Path(folder))
        for name in files:
            sandbox.own(Path(folder) / name)


class JailedKernelManager(AsyncKernelManager):
    """A kernel manager whose kernels start confined by :mod:`procbox.jail`, forked when it can.

    With ``fork`` set (a callable ``(argv, env, cwd, jail) -> pid``, such as
    :meth:`procbox.cluster.LocalCluster.fork_kernel`), the kernel is forked from a
    process that has already imported ipykernel, numpy and ipyparallel, and the
    fork enters the jail before it becomes the kernel: a fraction of the CPU of
    ``python -m ipykernel_launcher``.  Without ``fork`` it starts as usual,
    unconfined (a ``jail`` then is an error, never silently ignored).
    """

    jail = List(Unicode(), help=":mod:`procbox.jail` options for the kernel (empty: not confined).").tag(config=True)
    fork = Any(None, allow_none=True, help="(argv, env, cwd, jail) -> pid of a forked kernel; None: a new process")
    client_class = DottedObjectName("procbox.kernel_client.ReadyAsyncClient")  # see procbox.kernel_client
    client_factory = Type(klass="jupyter_client.asynchronous.AsyncKernelClient",
                          default_value="procbox.kernel_client.ReadyAsyncClient")
    blocking_class = Type(klass="jupyter_client.blocking.BlockingKernelClient",
                          default_value="procbox.kernel_client.ReadyBlockingClient")

    async def _async_launch_kernel(self, kernel_cmd: list[str], **kw) -> None:
        if self.fork is None or kernel_cmd[1:3] != ["-m", "ipykernel_launcher"]:
            if self.jail:
                raise ValueError(f"a confined kernel is forked (set fork); cannot confine {kernel_cmd[:3]}")
            return await super()._async_launch_kernel(kernel_cmd, **kw)
        jail = [*self.jail, "--share", self.connection_file] if self.jail else []
        pid = self.fork(kernel_cmd[3:], env=kw["env"], cwd=kw.get("cwd") or os.getcwd(), jail=jail)
        provisioner = self.provisioner
        provisioner.process = ForkedProcess(pid)
        provisioner.pid = provisioner.pgid = pid  # the forked child starts its own session
        provisioner.cwd = kw.get("cwd")
        self._reconcile_connection_info(provisioner.connection_info)


class ForkedProcess:
    """The part of ``subprocess.Popen`` that jupyter_client uses, for a process another one forked.

    It is not our child, so its exit status is not ours to read: ``returncode``
    is 0 once it has gone.  ``psutil`` refuses to signal a reused PID.
    """

    stdin = stdout = stderr = None

    def __init__(self, pid: int):
        self.pid = pid
        self.returncode: int | None = None
        self._proc = psutil.Process(pid)

    def poll(self) -> int | None:
        if self.returncode is None:
            try:
                gone = self._proc.status() == psutil.STATUS_ZOMBIE
            except psutil.NoSuchProcess:
                gone = True
            if gone:
                self.returncode = 0
        return self.returncode

    def wait(self, timeout: float | None = None) -> int:
        deadline = None if timeout is None else time.monotonic() + timeout
        while self.poll() is None:
            if deadline is not None and time.monotonic() > deadline:
                raise subprocess.TimeoutExpired(f"pid {self.pid}", timeout)
            time.sleep(0.01)
        return self.returncode

    def send_signal(self, sig: int) -> None:
        """Like ``Popen.send_signal``: nothing happens once the process has gone."""
        if self.poll() is None:
            with contextlib.suppress(psutil.NoSuchProcess):
                self._proc.send_signal(sig)

    def kill(self) -> None:
        self.send_signal(signal.SIGKILL)

    def terminate(self) -> None:
        self.send_signal(signal.SIGTERM)
