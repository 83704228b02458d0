"""Where submissions run: a worker grades one submission at a time on one of two slots.

A :class:`Slot` is an owned 4-engine cluster (:class:`procbox.cluster.LocalCluster`,
whose processes are forked from a fork server) plus, for each submission, a fresh
run directory and a fresh kernel.  :meth:`Slot.prepare` starts a new controller and
engines working in the new directory, verifies them (ids 0..3, our PIDs) and forks
the kernel from the same fork server; when the submission is done, the kernel,
the controller, the engines and anything they started are stopped.  So nothing
one student's code did (variables, imports, patches, cwd, environment, files,
dead or shut-down engines, the controller's task history, stray processes)
reaches the next student.

A :class:`Worker` prepares its other slot while a submission runs on one, so the
cluster start and the kernel start overlap with execution instead of adding to it.

Run directory layout: ``work/`` is the kernel's and the engines' working
directory; ``ipython/`` holds the client connection file a bare ``ipp.Client()``
finds; ``engines/`` the engines' connection file.  With the sandbox on, the run
directory belongs to the sandbox user and the rest of the grader is hidden.
"""

from __future__ import annotations

import concurrent.futures
import functools
import os
import queue
import shutil
import sys
import threading
from pathlib import Path

from jupyter_core.utils import ensure_event_loop, run_sync
from traitlets.config import Config

from procbox.cluster import DEFAULT_ENGINES, ClusterError, LocalCluster
from course.data import ENV_VAR

from procbox.kernel_client import wait_for_endpoints
from .preprocessors.execute_submission import ExecuteSubmission, guard_requests
from procbox.sandbox import JailedKernelManager, Sandbox, own_tree


START_TIMEOUT = 20  # seconds for a cluster to start (well under 1 s on an idle machine); then one more try


class Slot:
    def __init__(self, root: Path, mirror_url: str, sandbox: Sandbox, n_engines: int = DEFAULT_ENGINES):
        self.root = root
        self.root.mkdir(mode=0o711)
        self.mirror_url = mirror_url
        self.sandbox = sandbox
        self.cluster = LocalCluster(n=n_engines, ipython_dir=root / "controller", owned=True, fork=True)
        self.km: JailedKernelManager | None = None
        self.run: Path | None = None
        self._count = 0

    def prepare(self) -> "Slot":
        """A new run directory, a new verified cluster working in it, and a new kernel."""
        self._close_run()
        self._count += 1
        self.run = run = self.root / f"run-{self._count}"
        for sub in ("work", "ipython/profile_default/security", "engines"):
            (run / sub).mkdir(parents=True)
        own_tree(self.sandbox, run)
        self.cluster.engine_cwd = run / "work"
        self.cluster.engine_profile_dir = run / "engines"
        self.cluster.engine_jail = self.sandbox.jail_options(run, run / "work", share=[run / "engines"])
        for attempt in (1, 2):  # a start that fails once (a busy machine) gets one more try
            try:
                self.cluster.start(timeout=START_TIMEOUT)
                self.cluster.verify()
                break
            except ClusterError as e:
                self.cluster.stop(keep_forkserver=True)
                if attempt == 2:
                    raise
                print(f"grader: a cluster did not start ({e}); starting a new one", file=sys.stderr)
        client_file = run / "ipython/profile_default/security" / self.cluster.client_file.name
        shutil.copy(self.cluster.client_file, client_file)
        self.sandbox.own(client_file)
        self._start_kernel(run)
        self._install_guard()
        return self

    def _start_kernel(self, run: Path) -> None:
        """Fork the kernel from the cluster's fork server (which has ipykernel, numpy and ipyparallel imported)."""
        env = dict(os.environ)
        env.update({"IPYTHONDIR": str(run / "ipython"), ENV_VAR: self.mirror_url, "PYTHONUNBUFFERED": "1"})
        config = Config()
        config.JailedKernelManager.jail = self.sandbox.jail_options(run, run / "work", share=[])
        config.JailedKernelManager.connection_file = str(run / "kernel.json")
        config.JailedKernelManager.transport = "ipc"
        config.JailedKernelManager.ip = str(run / "kernel")
        self.km = JailedKernelManager(kernel_name="python3", config=config)
        self.km.fork = functools.partial(self.cluster.fork_kernel, log=self.root / "kernel.log")
        run_sync(self.km.start_kernel)(env=env, cwd=str(run / "work"),
                                       extra_arguments=["--HistoryManager.hist_file=:memory:"])

    def _install_guard(self) -> None:
        """Before any student code, and off the critical path (while another slot's submission runs)."""
        wait_for_endpoints(self.km, timeout=60)
        kc = self.km.blocking_client()
        kc.start_channels()
        try:
            kc.wait_for_ready(timeout=60)
            for code, expressions in guard_requests():
                reply = kc.execute_interactive(code, silent=True, store_history=False, user_expressions=expressions,
                                               timeout=60, output_hook=lambda msg: None)
                if reply["content"]["status"] != "ok":
                    raise ClusterError(f"the kernel could not install the grader's guard: {reply['content']}")
        finally:
            kc.stop_channels()

    def execute(self, nb, resources: dict, timeout: float):
        """Run the notebook in this slot's prepared kernel; afterwards the kernel and the cluster are stopped."""
        resources["metadata"] = {"path": str(self.run / "work")}
        executor = ExecuteSubmission(timeout=int(timeout), guard=True, guard_installed=True)
        try:
            return executor.preprocess(nb, resources, km=self.km)
        finally:
            if executor.kc is not None:
                executor.kc.stop_channels()
            self._stop()

    def _stop(self) -> None:
        """Stop the kernel, then every process of this submission (the kernel's strays carry the cluster's token)."""
        if self.km is not None:
            if self.km.has_kernel:
                run_sync(self.km.shutdown_kernel)(now=True)
            self.km = None
        self.cluster.stop(grace=0, keep_forkserver=True)

    def _close_run(self) -> None:
        self._stop()
        if self.run is not None:
            shutil.rmtree(self.run, ignore_errors=True)
            self.run = None

    def close(self) -> None:
        self._close_run()
        self.cluster.stop()


class Worker:
    """Grades submissions from a queue, preparing the next slot while the current one runs."""

    def __init__(self, root: Path, **slot_options):
        root.mkdir(mode=0o711)
        self.slots = [Slot(root / "a", **slot_options), Slot(root / "b", **slot_options)]
        self._prepare = concurrent.futures.ThreadPoolExecutor(1, thread_name_prefix="prepare")
        self._ready = None
        self._turn = 0
        self._closing, self._closed = threading.Lock(), False

    def next_slot(self, more_to_come: bool) -> Slot:
        """The prepared slot for this submission; start preparing the other one if more are coming."""
        with self._closing:
            self._raise_if_closed()
            if self._ready is None:
                self._ready = self._prepare.submit(self.slots[self._turn].prepare)
            ready = self._ready
        slot = ready.result()
        with self._closing:  # no new preparation once close() has begun: it could outlive the close
            self._raise_if_closed()
            self._turn ^= 1
            self._ready = self._prepare.submit(self.slots[self._turn].prepare) if more_to_come else None
        return slot

    def _raise_if_closed(self) -> None:
        if self._closed:
            raise RuntimeError("the worker was closed (the run was interrupted)")

    def close(self) -> None:
        """Stop both slots' processes; safe to call again (an interrupted run closes workers early, then again).

        From another thread too: a preparation under way is let finish first, and
        no new one starts, so that everything started is stopped with the rest.
        """
        with self._closing:
            if self._closed:
                return
            self._closed = True
            ready = self._ready
        if ready is not None:
            ready.cancel()
            try:
                ready.result()
            except (concurrent.futures.CancelledError, Exception):
                pass
        for slot in self.slots:  # before the thread that started their fork servers ends (they die with it)
            slot.close()
        self._prepare.submit(close_thread_loop).result()
        self._prepare.shutdown(wait=True)


def close_thread_loop() -> None:
    """Close the event loop that jupyter_core's run_sync made for the calling (non-main) thread."""
    if threading.current_thread() is not threading.main_thread():
        ensure_event_loop().close()


def drain(jobs: queue.Queue):
    """Yield jobs until the queue is empty (shared by several workers)."""
    while True:
        try:
            yield jobs.get_nowait()
        except queue.Empty:
            return
