"""Where submissions run: a worker grades one submission at a time on one of two slots.

A :class:`Slot` gives each submission a fresh run directory, a sealed box
(:mod:`procbox.box`: a PID namespace, a cgroup with the submission's limits, the
slot's own uid, a private /tmp and a size-capped working directory), a new
4-engine cluster started in the box and verified (ids 0..3, our PIDs), and a new
kernel forked into the box with the grader's guard installed.  Everything is a
``fork()`` of the slot's warm fork server.  When the submission is done the box
is closed, which ends every process in it, however it detached.  So nothing one
student's code did reaches the next student, a neighbour, or the grader.

A :class:`Worker` prepares its other slot while a submission runs on one, so the
box, cluster and kernel start overlap with execution instead of adding to it.

Run directory layout: ``work/`` is the kernel's and the engines' working
directory (a tmpfs in the box); ``controller/`` the controller's IPython
profile; ``ipython/`` holds the client connection file a bare ``ipp.Client()``
finds; ``engines/`` the engines' connection file; ``logs/`` what the processes
print; ``files/`` an nbgrader assignment's files for the submission, which the
kernel copies into ``work/`` before the first cell (:meth:`Slot.stage`).

The kernel and the engines get :data:`GRADING_ENV` on top of the minimal
environment: ``NBGRADER_EXECUTION=autograde``, which nbgrader sets while it
autogrades so that instructors can skip or change cells under grading.  Without namespaces
(``policy.mode == "off"``) the same processes are
forked unboxed, with per-process limits only.
"""

from __future__ import annotations

import concurrent.futures
import contextlib
import os
import queue
import shutil
import signal
import sys
import threading
import uuid
from pathlib import Path

from jupyter_core.utils import ensure_event_loop, run_sync

from course.data import ENV_VAR, PATH_PREFIX
from procbox.box import Box, ipc_fits, short_socket_dir
from procbox.cluster import DEFAULT_ENGINES, ClusterError, LocalCluster
from procbox.forkserver import ForkServer
from procbox.kernel import ForkedKernelManager, ForkProvisioner, kernel_manager
from procbox.kernel_client import wait_for_endpoints
from procbox.messages import Service
from procbox.policy import BoxPolicy, minimal_env
from procbox.resources import BoxError, UidLease
from procbox.rundirs import give_to
from procbox.sealing import check_sealed
from procbox.spawners import Boxed, Forked, Spawner

from .assignment_files import stage
from .audit import AuditLog
from .preprocessors.execute_submission import guard_requests

LIMIT_NAMES = {"memory": "its memory limit ({memory} MiB for all its processes together, {one} MiB for one)",
               "pids": "its process limit ({procs} processes and threads)",
               "tmp": "its /tmp limit ({tmp} MiB)", "work": "its working-directory limit ({work} MiB)"}
START_TIMEOUT = 20  # seconds for a cluster to start (well under 1 s on an idle machine); then one more try
# What graded code sees that nbgrader's autograde sets (its FAQ): a notebook can tell it is being graded.  nbgrader
# has one kernel and sets it for that kernel and all it starts; here the engines get it too, so that code behaves
# the same wherever the notebook runs it.
GRADING_ENV = {"NBGRADER_EXECUTION": "autograde"}


class SlotError(RuntimeError):
    """A slot could not be prepared (the grader's infrastructure, not a student's doing)."""


class Slot:
    def __init__(self, root: Path, mirror_url: str, policy: BoxPolicy, n_engines: int = DEFAULT_ENGINES):
        self.root = root
        self.root.mkdir(mode=0o711)
        self.mirror_url = mirror_url
        self.policy = policy
        self.n_engines = n_engines
        self.lease = UidLease() if policy.mode == "root" else None
        self.uid: int
        self.gid: int
        self.uid, self.gid = (self.lease.uid, self.lease.gid) if self.lease else (os.getuid(), os.getgid())
        self.forkserver: ForkServer | None = None
        self.box: Box | None = None
        self.cluster: LocalCluster | None = None
        self.km: ForkedKernelManager | None = None
        self.audit: AuditLog | None = None  # the kernel's audit channel (grader.audit)
        self.run: Path | None = None
        self.sockets: Path | None = None  # where the kernel's unix sockets are: the run directory, if its path is short
        self._count = 0
        self._token = uuid.uuid4().hex  # carried by the processes of this slot's unboxed clusters (Forked)

    @property
    def workdir(self) -> Path:
        if self.run is None:
            raise RuntimeError("the slot is not prepared (no run directory)")
        return self.run / "work"

    def prepare(self) -> Slot:
        """A new run directory, box, verified cluster and kernel; one more try if the first fails (a busy machine)."""
        for attempt in (1, 2):
            try:
                return self._prepare()
            except (ClusterError, BoxError, RuntimeError, OSError) as e:
                self._close_run()
                if attempt == 2:
                    raise SlotError(str(e)) from e
                print(f"grader: a slot did not start ({e}); starting a new one", file=sys.stderr)
        raise AssertionError("unreachable: the second attempt returns or raises")

    def _prepare(self) -> Slot:
        self._close_run()
        self._count += 1
        self.run = run = self.root / f"run-{self._count}"
        for sub in ("work", "controller/profile_default/security", "controller/profile_default/log",
                    "ipython/profile_default/security", "engines", "logs", "kernels"):
            (run / sub).mkdir(parents=True)
        self.sockets = sockets = run if ipc_fits(run / "kernel") else short_socket_dir()
        if self.policy.active:
            forkserver = self._forkserver()
            give_to(run, self.uid, self.gid)
            if sockets != run:
                give_to(sockets, self.uid, self.gid)
            self.box = Box(forkserver, self.policy, run_dir=run, uid=self.uid,
                           gid=self.gid, name=f"procbox-{os.getpid()}-{self.root.parent.name}-{self.root.name}"
                           f"-{self._count}", log=run / "logs" / "box.log", timeout=START_TIMEOUT,
                           read_write=[sockets] if sockets != run else [],
                           services=[Service("mirror", "course.data:box_mirror")])
            mirror = f"http://127.0.0.1:{self.box.ports['mirror']}{PATH_PREFIX}"  # the box's own, in its network
            env = minimal_env(HOME=str(run / "work"), **{ENV_VAR: mirror}, **GRADING_ENV)
            spawner: Spawner = Boxed(self.box)
        else:  # unboxed: forks of the slot's fork server, each confined by procbox.jail
            env = minimal_env(HOME=str(run / "work"), **{ENV_VAR: self.mirror_url}, **GRADING_ENV)
            spawner = Forked(self._forkserver(), token=self._token, jail=self._unboxed_limits(run))
        self.cluster = LocalCluster(n=self.n_engines, ipython_dir=run / "controller", spawner=spawner, env=env,
                                    engine_cwd=run / "work", engine_profile_dir=run / "engines")
        self.cluster.start(timeout=START_TIMEOUT)
        self.cluster.verify()
        client_file = run / "ipython/profile_default/security" / self.cluster.client_file.name
        shutil.copy(self.cluster.client_file, client_file)
        if self.policy.active and os.geteuid() == 0:
            os.chown(client_file, self.uid, self.gid)
        self.audit = AuditLog(run / "audit.fifo")  # root's, after own_tree: the kernel may write, never read
        self._start_kernel(run, dict(env, IPYTHONDIR=str(run / "ipython")))
        self._install_guard()
        return self

    def _unboxed_limits(self, run: Path) -> list[str]:
        """:mod:`procbox.jail` options for a process forked without a box: its memory and working directory."""
        return ["--memory", str(self.policy.memory), "--workdir", str(run / "work")]

    def _start_kernel(self, run: Path, env: dict) -> None:
        """Fork the kernel into the box (or from the fork server), through the ``procbox-fork`` provisioner."""
        log = str(run / "logs" / "kernel.log")
        cluster = self.cluster
        if cluster is None:
            raise RuntimeError("the slot has no cluster (_prepare starts it before the kernel)")

        def spawn(argv, env, cwd):
            return cluster.start_kernel(argv, env=env, cwd=cwd, log=log)

        if self.sockets is None:
            raise RuntimeError("the slot has no socket folder (_prepare sets it before starting the kernel)")
        ipc = str(self.sockets / "kernel")
        # ipc: a box's kernel listens in the box's network, which the grader is not in; tcp only unboxed, where a
        # long TMPDIR left no short socket folder
        transport = "ipc" if ipc_fits(ipc) else "tcp"
        self.km = km = kernel_manager(spawn, kernels_dir=run / "kernels", connection_file=run / "kernel.json",
                                      owner=(self.uid, self.gid), transport=transport,
                                      ip=ipc if transport == "ipc" else "127.0.0.1")
        run_sync(km.start_kernel)(env=env, cwd=str(run / "work"),
                                  extra_arguments=["--HistoryManager.hist_file=:memory:"])

    def _install_guard(self) -> None:
        """Before any student code, and off the critical path (while another slot's submission runs)."""
        km, audit = self.km, self.audit
        if km is None or audit is None:
            raise RuntimeError("the slot has no kernel or audit channel (_prepare starts them first)")
        wait_for_endpoints(km, timeout=60)
        kc = km.blocking_client()
        kc.start_channels()
        try:
            kc.wait_for_ready(timeout=60)
            for code, expressions in guard_requests(str(audit.path), audit.token):
                reply = kc.execute_interactive(code, silent=True, store_history=False, user_expressions=expressions,
                                               timeout=60, output_hook=lambda msg: None)
                if reply["content"]["status"] != "ok":
                    raise ClusterError(f"the kernel could not install the grader's guard: {reply['content']}")
        finally:
            kc.stop_channels()
        provisioner = km.provisioner
        if not isinstance(provisioner, ForkProvisioner):  # kernel_manager() always configures this provisioner
            raise ClusterError(f"the kernel has no procbox-fork provisioner: {provisioner!r}")
        audit.pid = provisioner.pid
        audit.seal()  # before any student code
        if not audit.connected:
            raise ClusterError("the kernel's audit hook did not connect to the grader")

    def stage(self, files) -> tuple[Path | None, list[str]]:
        """The submission's assignment files (:mod:`grader.assignment_files`) copied into ``files/`` of the run
        directory, given to the box's uid: (that folder, or None when there are none; what was not copied, as
        flags).  At most half the working directory's size is staged, so the notebook has room left."""
        if not files:
            return None, []
        if self.run is None:
            raise RuntimeError("the slot is not prepared (no run directory)")
        folder = self.run / "files"
        notes = stage(files, folder, self.policy.work_bytes // 2)
        give_to(folder, self.uid, self.gid)
        return folder, notes

    def _forkserver(self) -> ForkServer:
        """The slot's fork server (started in the preparing thread the first time: it dies with that thread)."""
        if self.forkserver is None:
            self.forkserver = Forked.server_for(minimal_env(), self._token)
        return self.forkserver

    def check_sealed(self) -> list[str]:
        """Try, from a probe box of this slot's policy, what a hostile submission would
        (:func:`procbox.sealing.check_sealed`);
        one line per protection that does not hold."""
        probe = self.root / "probe"
        try:
            return check_sealed(self._forkserver(), self.policy, probe, uid=self.uid, gid=self.gid)
        finally:
            shutil.rmtree(probe, ignore_errors=True)

    def limits_reached(self, memory_error: bool = False) -> str:
        """Which of the submission's limits its processes hit so far, as a message ("" for none); read before
        the box closes.  ``memory_error``: a process got a MemoryError (its share of the box's memory)."""
        hits = self.box.limit_hits() if self.box is not None else []
        if memory_error and self.policy.active and "memory" not in hits:
            hits.append("memory")
        if not hits:
            return ""
        p = self.policy
        sizes = dict(memory=p.memory // 2**20, one=p.per_process_memory // 2**20, procs=p.max_procs,
                     tmp=p.tmp_bytes // 2**20, work=p.work_bytes // 2**20)
        return "the submission hit " + " and ".join(LIMIT_NAMES[h].format(**sizes) for h in hits)

    def release(self) -> None:
        """The submission is done: end its kernel, its cluster and every other process it started."""
        self._stop()

    def kill(self) -> None:
        """From another thread, while this slot's submission runs (an interrupted run): kill its processes, so that
        the thread grading it sees its kernel die and returns.  Nothing else is touched: closing the kernel manager
        here would destroy the ZeroMQ context whose sockets that thread is polling, and libzmq aborts the process
        (``pfd.revents & POLLIN``).  :meth:`release` or :meth:`close` cleans up afterwards, in order."""
        box, km, cluster = self.box, self.km, self.cluster
        if box is not None:
            box.kill()
            return
        pid = getattr(getattr(km, "provisioner", None), "pid", None)
        if pid:
            with contextlib.suppress(ProcessLookupError, PermissionError):
                os.kill(pid, signal.SIGKILL)
        if cluster is not None:
            cluster.stop(grace=0)

    def _stop(self) -> None:
        if self.box is not None:  # every process of the submission, at once
            self.box.close()
            self.box = None
        if self.km is not None:
            if self.km.has_kernel:
                run_sync(self.km.shutdown_kernel)(now=True)
            self.km = None
        if self.cluster is not None:
            self.cluster.stop(grace=0)
            self.cluster = None
        if self.audit is not None:
            self.audit.close()
            self.audit = None

    def _close_run(self) -> None:
        self._stop()
        if self.run is not None:
            shutil.rmtree(self.run, ignore_errors=True)
            if self.sockets is not None and self.sockets != self.run:
                shutil.rmtree(self.sockets, ignore_errors=True)
            self.run = self.sockets = None

    def close(self) -> None:
        self._close_run()
        if self.forkserver is not None:
            self.forkserver.close()
            self.forkserver = None
        if self.lease is not None:
            self.lease.release()
            self.lease = None


class Worker:
    """Grades submissions from a queue, preparing the next slot while the current one runs."""

    def __init__(self, root: Path, **slot_options):
        root.mkdir(mode=0o711)
        self.slots = [Slot(root / "a", **slot_options), Slot(root / "b", **slot_options)]
        self._prepare = concurrent.futures.ThreadPoolExecutor(1, thread_name_prefix="prepare")
        self._ready: concurrent.futures.Future[Slot] | None = None
        self._turn = 0
        self.failures = 0  # submissions in a row whose slot could not be started (grader.grading.grade_one counts them)
        self._closing, self._closed = threading.Lock(), False
        self._in_use: Slot | None = None  # the slot the grading thread was last given

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
            self._in_use = slot
        return slot

    def interrupt(self) -> None:
        """From another thread (Ctrl-C in the main one): no new slot, and the processes of the slot being graded are
        killed (:meth:`Slot.kill`), so the thread grading on it returns soon.  Call :meth:`close` once it has."""
        with self._closing:
            self._closed = True
            slot = self._in_use
        if slot is not None:
            slot.kill()

    def check_sealed(self) -> list[str]:
        """The sealing check (:meth:`Slot.check_sealed`), in the thread that owns the slots' fork servers."""
        with self._closing:
            self._raise_if_closed()
            return self._prepare.submit(self.slots[0].check_sealed).result()

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
