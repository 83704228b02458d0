"""Grading on this machine: workers (threads, each with its own sealed boxes and clusters) take submissions
from one queue and record each result in the gradebook as it comes (:func:`grade_here`)."""

from __future__ import annotations

import concurrent.futures
import contextlib
import queue
import sys
import threading
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

import psutil

from course.cpus import usable_cpus
from procbox.policy import DEFAULT_MEMORY
from procbox.rundirs import PREFIX as RUN_PREFIX, run_root, sweep_stale

from .gradebook import Gradebook
from .grading import UNSEALED, SealError, grade_one, slot_options
from .late import NO_LATENESS, Lateness
from .options import GradingOptions
from .progress import Progress
from .worker import SlotError, Worker, close_thread_loop, drain

SUBMISSIONS_PER_WORKER = 4  # a worker's own fork servers cost about 0.65 CPU-s each: worth it from here on
SLOTS_PER_WORKER = 2  # a worker keeps the next submission's box prepared while the current one runs (grader.worker)


@dataclass(frozen=True)
class WorkerCount:
    """How many workers grade at once here, and why (printed at the start of a run)."""

    n: int
    reason: str


def available_memory() -> int:
    """Bytes of memory this machine can give now without swapping (the kernel's MemAvailable)."""
    return psutil.virtual_memory().available


def default_workers(submissions: int | None = None, memory_per_box: int = DEFAULT_MEMORY, *,
                    cpus: int | None = None, memory: int | None = None) -> WorkerCount:
    """One worker per CPU this process may use (its affinity and cgroup quota: :func:`course.cpus.usable_cpus`), no
    more than the available memory holds (each worker keeps SLOTS_PER_WORKER boxes of ``memory_per_box`` bytes), and
    for ``submissions`` to grade, no more than one per SUBMISSIONS_PER_WORKER of them.  ``cpus`` and ``memory``
    (bytes available) default to this machine's."""
    cpus = usable_cpus() if cpus is None else cpus
    memory = available_memory() if memory is None else memory
    by_memory = memory // (SLOTS_PER_WORKER * memory_per_box)
    limits = [(cpus, f"{cpus} CPU{'s' * (cpus != 1)}"),
              (by_memory, f"{memory / 2**30:.1f} GiB available holds {by_memory} worker{'s' * (by_memory != 1)} of "
                          f"{SLOTS_PER_WORKER} boxes x {memory_per_box / 2**30:g} GiB")]
    if submissions is not None:
        most = submissions // SUBMISSIONS_PER_WORKER
        limits.append((most, f"{submissions} to grade: at most {max(1, most)} (one per {SUBMISSIONS_PER_WORKER} "
                             "submissions)"))
    n, why = min(limits, key=lambda limit: limit[0])
    n = max(1, n)
    return WorkerCount(n, f"{n} worker{'s' * (n != 1)}: {why} ({'; '.join(text for _, text in limits)})")


MAX_SLOT_FAILURES = 3  # a worker whose boxes failed to start this many times in a row: the machine, not a student


def grade_here(todo: list, exercises: dict, released: dict, book: Gradebook, options: GradingOptions,
               lateness: Lateness = NO_LATENESS, hide: Sequence[Path] = ()) -> list:
    """Grade ``todo`` here, each submission in a sealed box hiding ``hide`` (the instructor's paths); the results.

    Makes the run's root folder (removing those of graders that were killed), the box policy from ``options``
    and, without boxes, one n-gram mirror for all; raises SealError, ClusterError, SlotError or
    KeyboardInterrupt for :func:`grader.grade.main` to report (every result recorded so far stays recorded)."""
    for stale in sweep_stale(RUN_PREFIX):  # left by graders that were killed (kill -9): their owner is gone
        if not options.quiet:
            print(f"grader: removed {stale}, left behind by a grader that was killed", file=sys.stderr)
    with run_root(RUN_PREFIX) as root, contextlib.ExitStack() as stack:
        slots = slot_options(options, Path(root), hide, stack)
        policy = slots["policy"]
        if not (options.quiet and policy.active):
            print(policy.describe(), file=sys.stdout if policy.active else sys.stderr)
        return _run(todo, exercises, released, Path(root), slots, book, options, lateness)


def _run(todo, exercises, released, root, slot_options, book, options: GradingOptions, lateness: Lateness):
    """Grade ``todo`` on ``workers`` workers (threads, each with its own clusters); record each result as it comes.

    With the sandbox on, a probe box first checks that it holds (SealError if not); with it off, every row says so.
    A submission whose slot could not be started is an error row and the run goes on; a worker whose slots fail
    MAX_SLOT_FAILURES times in a row ends the run (SlotError): then it is the machine."""
    jobs: queue.Queue = queue.Queue()
    for sub in todo:
        jobs.put(sub)
    results, lock, stop = [], threading.Lock(), threading.Event()
    bar = Progress(len(todo), "grading", quiet=options.quiet)
    count = WorkerCount(options.workers, f"{options.workers} workers: --workers") if options.workers else \
        default_workers(len(todo), options.memory)
    workers = count.n
    if not options.quiet and todo:
        print(f"grader: {count.reason}", file=sys.stderr)
    policy = slot_options["policy"]
    crews = [Worker(root / f"worker-{i}", **slot_options) for i in range(max(1, min(workers, len(todo) or 1)))]
    if policy.active and todo:
        try:
            problems = crews[0].check_sealed()
        except BaseException:
            for w in crews:
                w.close()
            raise
        if problems:
            for w in crews:
                w.close()
            raise SealError(problems)

    def work(worker: Worker) -> None:
        try:
            take(worker)
        finally:
            close_thread_loop()

    def take(worker: Worker) -> None:
        for sub in drain(jobs):
            if stop.is_set():
                return
            outcome = grade_one(worker, sub, exercises[sub.key], released[sub.key], options,
                                more_to_come=not jobs.empty(), lateness=lateness)
            if not policy.active:
                outcome[0].flags.append(UNSEALED)
            with lock:
                if stop.is_set():  # interrupted: what ran during the stop is not a grade
                    return
                book.record(*outcome)
                results.append(outcome[0])
                bar.update(f"{sub.student}/{sub.key} {outcome[0].total:g}/{outcome[0].possible:g}")
            if worker.failures >= MAX_SLOT_FAILURES:
                raise SlotError(f"{worker.failures} boxes in a row failed to start (the last for {sub.student}/"
                                f"{sub.key}, recorded as an error)")

    try:
        if len(crews) == 1:
            work(crews[0])
        else:
            with concurrent.futures.ThreadPoolExecutor(len(crews), thread_name_prefix="grader") as pool:
                futures = [pool.submit(work, w) for w in crews]
                try:
                    for f in concurrent.futures.as_completed(futures):
                        f.result()
                except BaseException:
                    stop.set()
                    for w in crews:  # kills the processes they grade on, so the threads finish quickly; each
                        w.interrupt()  # worker is closed below, once its thread is done with its sockets
                    raise
    except BaseException:
        stop.set()
        raise
    finally:
        bar.close()
        for w in crews:
            w.close()
    return results
