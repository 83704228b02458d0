"""A notebook's sealed session: one sealed box (:mod:`procbox.box`) holding a fresh cluster and a fresh kernel.

What the grader gives each submission, for a runner of notebooks that is not the grader (the pytest plugin,
:mod:`course.pytest_ipp`): the kernel and the engines run as a uid of their own in PID, mount, IPC and network
namespaces, see the installation read-only and a copy of the notebook's folder in their working directory (a
size-capped tmpfs), reach nothing but their own loopback and the services the box serves, and end with the box,
whatever they started.  Nothing the notebook writes reaches the folder it came from.

    with SealedSession(folder, n=4, policy=BoxPolicy()) as session:
        NotebookClient(nb, km=session.km).execute()

The run directory (``run/`` in a fresh root of :func:`procbox.rundirs.run_root`) holds ``files/`` (the folder's
copy, which the kernel copies into ``work/`` before the first cell: :mod:`procbox.place_files`), ``controller/``
(the controller's profile), ``ipython/`` (the client connection file a bare ``ipp.Client()`` in the kernel finds),
``engines/``, ``kernels/`` and ``logs/``.
"""

from __future__ import annotations

import ast
import contextlib
import json
import os
import shutil
import uuid
from collections.abc import Callable, Sequence
from pathlib import Path

from jupyter_core.utils import run_sync

from . import place_files
from .box import WORK_DIR, Box, ipc_fits, short_socket_dir
from .cluster import LocalCluster
from .kernel import ForkedKernelManager, kernel_manager
from .kernel_client import wait_for_endpoints
from .messages import Service
from .policy import BoxPolicy, minimal_env
from .resources import BoxError, UidLease
from .rundirs import give_to, run_root
from .spawners import Boxed, Forked

PREFIX = "procbox-session-"
SKIPPED = (".ipynb_checkpoints", "__pycache__", ".git")


class SessionError(RuntimeError):
    """The session's box, cluster or kernel could not be started, or the notebook's folder not placed."""


class SealedSession:
    """A sealed box with ``n`` engines and a kernel, the kernel's working directory a copy of ``folder``.

    ``policy`` must be active (:attr:`procbox.policy.BoxPolicy.active`: Linux with namespaces).  ``services``
    (:class:`procbox.messages.Service`) serve the box from outside; ``env(ports)`` gives the variables the kernel
    and the engines get on top of the minimal environment, from the services' ports in the box.  ``profile`` is
    the IPython profile whose connection file a bare ``ipp.Client(profile=...)`` finds."""

    def __init__(self, folder: str | os.PathLike, *, n: int, policy: BoxPolicy, profile: str = "default",
                 services: Sequence[Service] = (), env: Callable[[dict[str, int]], dict[str, str]] = lambda _: {},
                 start_timeout: float = 60):
        if not policy.active:
            raise SessionError(f"a sealed session needs the sandbox, which is off here: {policy.reason}")
        self.folder, self.n, self.policy, self.profile = Path(folder), n, policy, profile
        self.services, self.extra_env, self.start_timeout = list(services), env, start_timeout
        self.km: ForkedKernelManager | None = None
        self.cluster: LocalCluster | None = None
        self.box: Box | None = None
        self.run: Path | None = None
        self._stack = contextlib.ExitStack()

    def __enter__(self) -> SealedSession:
        try:
            self._start()
        except BaseException:
            self.close()
            raise
        return self

    def __exit__(self, *exc) -> None:
        self.close()

    def _start(self) -> None:
        stack = self._stack
        lease = UidLease() if self.policy.mode == "root" else None
        if lease is not None:
            stack.callback(lease.release)
        uid, gid = (lease.uid, lease.gid) if lease else (os.getuid(), os.getgid())
        self.run = run = stack.enter_context(run_root(PREFIX)) / "run"
        for sub in (WORK_DIR, "controller/profile_default/security", "controller/profile_default/log",
                    f"ipython/profile_{self.profile}/security", "engines", "logs", "kernels"):
            (run / sub).mkdir(parents=True)
        shutil.copytree(self.folder, run / "files", ignore=shutil.ignore_patterns(*SKIPPED), symlinks=False)
        sockets = run if ipc_fits(run / "kernel") else stack.enter_context(_socket_folder())
        give_to(run, uid, gid)
        if sockets != run:
            give_to(sockets, uid, gid)
        forkserver = Forked.server_for(minimal_env(), uuid.uuid4().hex)
        stack.callback(forkserver.close)
        self.box = box = Box(forkserver, self.policy, run_dir=run, uid=uid, gid=gid,
                             name=f"{PREFIX}{os.getpid()}-{run.parent.name}", log=run / "logs" / "box.log",
                             timeout=self.start_timeout, read_write=[sockets] if sockets != run else [],
                             services=self.services)
        stack.callback(self._close_box)
        env = minimal_env(HOME=str(run / WORK_DIR), **self.extra_env(box.ports))
        self.cluster = cluster = LocalCluster(n=self.n, ipython_dir=run / "controller", spawner=Boxed(box), env=env,
                                              engine_cwd=run / WORK_DIR, engine_profile_dir=run / "engines")
        stack.callback(cluster.stop, grace=0)
        cluster.start(timeout=self.start_timeout)
        cluster.verify()
        client_file = run / f"ipython/profile_{self.profile}/security" / cluster.client_file.name
        shutil.copy(cluster.client_file, client_file)
        give_to(client_file, uid, gid)

        def spawn(argv, env, cwd):
            return cluster.start_kernel(argv, env=env, cwd=cwd, log=str(run / "logs" / "kernel.log"))

        self.km = km = kernel_manager(spawn, kernels_dir=run / "kernels", connection_file=run / "kernel.json",
                                      owner=(uid, gid), transport="ipc", ip=str(sockets / "kernel"))
        stack.callback(self._shutdown_kernel)
        run_sync(km.start_kernel)(env=dict(env, IPYTHONDIR=str(run / "ipython")), cwd=str(run / WORK_DIR),
                                  extra_arguments=["--HistoryManager.hist_file=:memory:"])
        self._place(run / "files")

    def _place(self, files: Path) -> None:
        """Have the kernel copy the folder's files into its working directory, before the notebook's first cell."""
        km = self.km
        assert km is not None  # _start starts it first
        wait_for_endpoints(km, timeout=self.start_timeout)
        kc = km.blocking_client()
        kc.start_channels()
        try:
            kc.wait_for_ready(timeout=self.start_timeout)
            reply = kc.execute_interactive("", silent=True, store_history=False,
                                           user_expressions={"placed": place_files.expression(files)},
                                           timeout=self.start_timeout, output_hook=lambda msg: None)
        finally:
            kc.stop_channels()
        answer = reply["content"].get("user_expressions", {}).get("placed", {})
        if answer.get("status") == "ok":  # the repr of place's JSON string
            placed = json.loads(ast.literal_eval(answer.get("data", {}).get("text/plain", "'{}'")))
        else:
            placed = {"error": answer.get("evalue", "the kernel did not run the copy")}
        if placed.get("error"):
            raise SessionError(f"{self.folder}: its files could not be put beside the notebook in the box "
                               f"({placed['error']}); a smaller folder fits")

    def _shutdown_kernel(self) -> None:
        if self.km is not None and self.km.has_kernel:
            with contextlib.suppress(Exception):  # the box is closed first: the kernel is gone already
                run_sync(self.km.shutdown_kernel)(now=True)
        self.km = None

    def _close_box(self) -> None:
        if self.box is not None:
            self.box.close()  # every process of the session, however it detached
            self.box = None

    def close(self) -> None:
        """End the box (every process in it), the kernel manager, the cluster's record, the fork server, the uid
        and the run directory."""
        self._close_box()
        self._stack.close()


@contextlib.contextmanager
def _socket_folder():
    folder = short_socket_dir()
    try:
        yield folder
    finally:
        shutil.rmtree(folder, ignore_errors=True)


__all__ = ["BoxError", "SealedSession", "SessionError"]
