"""Kernels forked into a sealed box (or from a fork server), launched through jupyter_client's provisioner API.

jupyter_client picks a kernel's provisioner from its kernel spec
(``metadata.kernel_provisioner``) among the ``jupyter_client.kernel_provisioners``
entry points; this package registers :class:`ForkProvisioner` as ``procbox-fork``
(pyproject.toml).  :func:`kernel_manager` makes a kernel manager whose spec names
it, so ``start_kernel`` writes the connection file as usual and the provisioner
forks the kernel instead of running ``python -m ipykernel_launcher``:

- ``spawn`` (a trait, set through the manager's config) is a callable
  ``(argv, env, cwd) -> pid``: :meth:`procbox.box.Box.spawn` for a kernel in a box,
  :meth:`procbox.cluster.LocalCluster.start_kernel` for one started as its cluster's engines are;
- ``owner`` (uid, gid) receives the connection file, so a kernel running as a
  box's uid can read it.

The kernel is not our child, so :class:`ForkedProcess` stands in for the
``Popen`` object of :class:`~jupyter_client.provisioning.LocalProvisioner`.
"""

from __future__ import annotations

import contextlib
import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import psutil
from jupyter_client.connect import KernelConnectionInfo
from jupyter_client.kernelspec import KernelSpecManager
from jupyter_client.manager import AsyncKernelManager
from jupyter_client.provisioning import LocalProvisioner
from traitlets import Any, DottedObjectName, Tuple, Type

PROVISIONER = "procbox-fork"
SPEC_NAME = "procbox-python3"


class ForkProvisioner(LocalProvisioner):
    """A :class:`LocalProvisioner` whose kernel process is forked by ``spawn`` rather than started with Popen."""

    spawn = Any(None, allow_none=True, help="(argv, env, cwd) -> pid of the forked kernel").tag(config=True)
    owner = Tuple((), help="(uid, gid) that must be able to read the connection file").tag(config=True)

    async def launch_kernel(self, cmd: list[str], **kwargs) -> KernelConnectionInfo:
        if self.spawn is None:
            raise RuntimeError("ForkProvisioner needs `spawn` (set it in the kernel manager's config)")
        if cmd[1:3] != ["-m", "ipykernel_launcher"]:
            raise ValueError(f"a forked kernel runs ipykernel_launcher, not {cmd[:3]}")
        if self.owner and os.geteuid() == 0:
            assert self.parent is not None  # the kernel manager that owns this provisioner
            os.chown(self.parent.connection_file, *self.owner)
        cwd = kwargs.get("cwd") or os.getcwd()
        pid = self.spawn(cmd[3:], env=kwargs.get("env") or {}, cwd=cwd)
        self.process = ForkedProcess(pid)  # type: ignore[assignment]  # what jupyter_client uses of a Popen
        self.pid = self.pgid = pid  # a forked kernel starts a session of its own
        self.cwd = cwd
        return self.connection_info


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
        start = time.monotonic()
        while (code := self.poll()) is None:
            if timeout is not None and time.monotonic() - start > timeout:
                raise subprocess.TimeoutExpired(f"pid {self.pid}", timeout)
            time.sleep(0.01)
        return code

    def send_signal(self, sig: int) -> None:
        """Like ``Popen.send_signal``: nothing happens once the process has gone."""
        if self.poll() is None:
            with contextlib.suppress(psutil.NoSuchProcess):
                self._proc.send_signal(sig)

    def kill(self) -> None:
        self.send_signal(signal.SIGKILL)

    def terminate(self) -> None:
        self.send_signal(signal.SIGTERM)


class ForkedKernelManager(AsyncKernelManager):
    """An async kernel manager whose clients know a kernel is ready without jupyter_client's 0.2 s wait."""

    client_class = DottedObjectName("procbox.kernel_client.ReadyAsyncClient")
    client_factory = Type(klass="jupyter_client.asynchronous.AsyncKernelClient",
                          default_value="procbox.kernel_client.ReadyAsyncClient")
    blocking_class = Type(klass="jupyter_client.blocking.BlockingKernelClient",
                          default_value="procbox.kernel_client.ReadyBlockingClient")


def write_spec(kernels_dir: Path) -> KernelSpecManager:
    """A kernel spec ``procbox-python3`` (this Python's ipykernel, provisioned by ``procbox-fork``) in
    ``kernels_dir``."""
    spec_dir = Path(kernels_dir) / SPEC_NAME
    spec_dir.mkdir(parents=True, exist_ok=True)
    spec = {"argv": [sys.executable, "-m", "ipykernel_launcher", "-f", "{connection_file}"],
            "display_name": "Python 3 (forked)", "language": "python",
            "metadata": {"kernel_provisioner": {"provisioner_name": PROVISIONER}}}
    (spec_dir / "kernel.json").write_text(json.dumps(spec))
    return KernelSpecManager(kernel_dirs=[str(kernels_dir)], ensure_native_kernel=False)


def kernel_manager(spawn, *, kernels_dir: Path, connection_file: Path, owner: tuple = (), transport: str = "ipc",
                   ip: str | None = None, config=None) -> ForkedKernelManager:
    """A kernel manager for one forked kernel (see the module's docstring); start it with ``start_kernel``."""
    from traitlets.config import Config

    config = Config(config or {})
    config.ForkProvisioner.spawn = spawn
    config.ForkProvisioner.owner = tuple(owner)
    config.ForkedKernelManager.connection_file = str(connection_file)
    config.ForkedKernelManager.transport = transport
    if ip is not None:
        config.ForkedKernelManager.ip = ip
    return ForkedKernelManager(kernel_name=SPEC_NAME, kernel_spec_manager=write_spec(kernels_dir), config=config)
