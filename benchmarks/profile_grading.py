"""Profile: where one submission's time and CPU go when the grader grades a class.

    .venv/bin/python benchmarks/profile_grading.py [--students 4] [--exercises N] [--workers 1] [--no-sandbox]
                                                   [--record docs/cost.json]
    .venv/bin/python benchmarks/profile_grading.py --fresh-only [--cycles 10]

Grades a sample class (``grader.sample_class``: students x the course's exercises, or the first N) with
``grade.main``, with
the grader's own steps wrapped in timers, and prints for each step how often it ran, its mean wall time
and its share of the run; then the CPU seconds per submission: the whole machine's (from /proc/stat, so
other load on a shared machine counts too: read it next to the load average), the grader process's own
(getrusage), and the rest (kernels, controllers, engines, fork servers).  Steps overlap: a worker prepares
the next submission's slot (cluster start, verify, kernel, guard) while the current one executes, so the
wall-time shares add up to more than 100 %.

``--record PATH`` grades without the per-process sampler (its CPU would count as the grader's), also prepares and
stops 5 slots with no notebook, and writes the figures (:mod:`grader.cost`:
submissions per minute per core, p50/p99 seconds per submission, CPU seconds, the share spent preparing sealed
slots) as JSON to PATH and the documentation's page made from them beside it (``docs/cost.json``: ``docs/cost.md``).

``--fresh-only`` measures the price of isolation alone: a slot prepares (new controller, 4 engines, kernel,
guard; verified) and stops, ``--cycles`` times, with no notebook; the CPU seconds per cycle by process.
"""

from __future__ import annotations

import argparse
import collections
import contextlib
import functools
import math
import os
import resource
import subprocess
import sys
import tempfile
import threading
import time
from datetime import UTC, datetime
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

import psutil  # noqa: E402

from grader import cost, grade, gradebook, grading, local, sample_class, worker  # noqa: E402
from grader.exercise import load_exercises  # noqa: E402
from measure import machine_cpu  # noqa: E402
from procbox import (  # noqa: E402
    box as box_mod,
    cluster as cluster_mod,
)

PER_SUBMISSION, PREPARE, BOX, EXECUTE, CLOSE = ("one submission (grade_one)", "slot prepare (all of the above)",
                                                 "  of which: the box", "execute the notebook",
                                                 "close the box (every process)")
STEPS = [  # (label, owner, attribute): the grader's steps, in the order a submission meets them
    ("read + restore tests", grading, "read_submission"),
    ("cluster: controller up", cluster_mod.LocalCluster, "_start_controller"),
    ("cluster: engines forked", cluster_mod.LocalCluster, "_start_engines"),
    ("cluster: engines registered", cluster_mod.LocalCluster, "wait_for_engines"),
    ("cluster: verify (ids, pids)", cluster_mod.LocalCluster, "verify"),
    ("kernel: fork + ready", worker.Slot, "_start_kernel"),
    ("kernel: guard installed", worker.Slot, "_install_guard"),
    ("slot prepare (all of the above)", worker.Slot, "prepare"),
    ("  of which: the box", box_mod.Box, "__init__"),
    ("execute the notebook", grading.ExecuteSubmission, "preprocess"),
    ("close the box (every process)", worker.Slot, "_stop"),
    ("  of which: cluster.stop", cluster_mod.LocalCluster, "stop"),
    ("record in the gradebook", gradebook.Gradebook, "record"),
]


class CpuByRole:
    """Samples every 20 ms the CPU time of each process under this one, by role (what the grader started it as)."""

    def __init__(self):
        self.roles: dict[int, str] = {}  # pid -> controller | engine | kernel, recorded as the grader starts them
        self.last: dict[tuple[int, float], tuple[str, float]] = {}
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True)

    def role(self, proc: psutil.Process) -> str:
        with contextlib.suppress(psutil.Error):
            if proc.pid in self.roles:
                return self.roles[proc.pid]
            parent = proc.ppid()
            if parent in self.roles:
                return self.roles[parent] + " (children)"
            if "procbox.forkserver" in " ".join(proc.cmdline()):
                return "fork server" if parent == os.getpid() else "forked, role not yet noted"
            return "other: " + " ".join(proc.cmdline())[:40]
        return "other"

    def _run(self):
        me = psutil.Process()
        while not self._stop.wait(0.02):
            for proc in me.children(recursive=True):
                with contextlib.suppress(psutil.Error):
                    t = proc.cpu_times()
                    self.last[(proc.pid, proc.create_time())] = (self.role(proc), t.user + t.system)

    def __enter__(self):
        self._thread.start()
        return self

    def __exit__(self, *exc):
        self._stop.set()
        self._thread.join()

    def totals(self) -> dict[str, float]:
        out: dict[str, float] = collections.Counter()
        for role, seconds in self.last.values():
            out[role] += seconds
        return out


def fresh_cycles(cycles: int, sandbox: bool = True, sampler=None) -> dict:
    """Prepare a slot (new box, controller, 4 engines, kernel, guard; verified) and stop it, ``cycles`` times, with
    no notebook: {"wall", "machine", "grader"} seconds per cycle (wall; busy CPU of the whole machine; this process's
    CPU).  The fork server's own start is not part of a cycle."""
    from course.data import start_mirror
    from procbox.policy import BoxPolicy

    with tempfile.TemporaryDirectory(prefix="profile-fresh-") as tmp, start_mirror() as mirror:
        hide = [ROOT / "exercises", Path(tmp)]  # as grade.main hides the sources and its own folder
        slot = worker.Slot(Path(tmp) / "slot", mirror_url=mirror.url, policy=BoxPolicy(hide=hide, requested=sandbox))
        try:
            slot.prepare()
            slot._stop()
            cpu0, self0, t0 = machine_cpu(), resource.getrusage(resource.RUSAGE_SELF), time.perf_counter()
            with sampler or contextlib.nullcontext():
                for _ in range(cycles):
                    slot.prepare()
                    slot._stop()
            wall, self1 = time.perf_counter() - t0, resource.getrusage(resource.RUSAGE_SELF)
            machine = machine_cpu() - cpu0
        finally:
            slot.close()
    mine = (self1.ru_utime + self1.ru_stime) - (self0.ru_utime + self0.ru_stime)
    return {"wall": wall / cycles, "machine": machine / cycles, "grader": mine / cycles}


def fresh_only(cycles: int, sandbox: bool, sampler: CpuByRole) -> int:
    """CPU seconds per 'new verified cluster and kernel, then stop it all', with nothing executed."""
    per = fresh_cycles(cycles, sandbox, sampler)
    print(f"{cycles} cycles of: new controller + 4 engines + kernel (forked), verified, guard installed, all stopped")
    print(f"  wall {per['wall']:.3f} s per cycle; CPU s per cycle: machine {per['machine']:.3f}, grader process "
          f"{per['grader']:.3f} (this profiler's sampling included)")
    print("  by process: " + ", ".join(f"{role} {seconds / cycles:.3f}" for role, seconds in
                                       sorted(sampler.totals().items(), key=lambda kv: -kv[1])))
    return 0


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--students", type=int, default=4)
    ap.add_argument("--workers", type=int, default=1)
    ap.add_argument("--no-sandbox", action="store_true")
    ap.add_argument("--fresh-only", action="store_true", help="only prepare and stop slots (see above)")
    ap.add_argument("--cycles", type=int, default=10)
    ap.add_argument("--exercises", type=int, default=0, help="grade only the first N exercises (default: all)")
    ap.add_argument("--record", type=Path, help="write the figures of the cost page (grader.cost) to this JSON file")
    args = ap.parse_args()
    times: dict[str, list[float]] = collections.defaultdict(list)
    lock = threading.Lock()

    def timed(label, fn):
        @functools.wraps(fn)
        def wrapper(*a, **kw):
            t0 = time.perf_counter()
            try:
                return fn(*a, **kw)
            finally:
                with lock:
                    times[label].append(time.perf_counter() - t0)
        return wrapper

    for label, owner, name in STEPS:
        setattr(owner, name, timed(label, getattr(owner, name)))
    sampler = CpuByRole()
    spawn, start_kernel = cluster_mod.LocalCluster._spawn, cluster_mod.LocalCluster.start_kernel

    def spawn_noted(self, role, *a, **kw):
        proc = spawn(self, role, *a, **kw)
        sampler.roles[proc.pid] = role
        return proc

    def start_kernel_noted(self, *a, **kw):
        pid = start_kernel(self, *a, **kw)
        sampler.roles[pid] = "kernel"
        return pid

    cluster_mod.LocalCluster._spawn, cluster_mod.LocalCluster.start_kernel = spawn_noted, start_kernel_noted
    local.grade_one = timed(PER_SUBMISSION, local.grade_one)  # what local workers call for each submission
    if args.fresh_only:
        return fresh_only(args.cycles, not args.no_sandbox, sampler)

    exercises = load_exercises(ROOT / "exercises")
    if args.exercises:
        exercises = dict(list(exercises.items())[:args.exercises])
    with tempfile.TemporaryDirectory(prefix="profile-grading-") as tmp:
        expected = sample_class.make_class(exercises, Path(tmp) / "class", students=args.students)
        n = len(expected)
        load_before = os.getloadavg()[0]
        cpu0, self0, t0 = machine_cpu(), resource.getrusage(resource.RUSAGE_SELF), time.perf_counter()
        # a record's CPU figures are the grading's alone: the per-process sampler (psutil over every process, every
        # 20 ms) costs this process CPU too, so it does not run then
        with sampler if not args.record else contextlib.nullcontext():
            rc = grade.main(submissions=Path(tmp) / "class", source=ROOT / "exercises",
                            gradebook=Path(tmp) / "g.sqlite", workers=args.workers, quiet=True,
                            sandbox=not args.no_sandbox)
        wall, cpu1, self1 = time.perf_counter() - t0, machine_cpu(), resource.getrusage(resource.RUSAGE_SELF)
        with gradebook.Gradebook(Path(tmp) / "g.sqlite") as gb:
            right = sum(1 for r in gb.submissions() if r.total == expected[(r.student, r.exercise)])

    mine = (self1.ru_utime + self1.ru_stime) - (self0.ru_utime + self0.ru_stime)
    machine = cpu1 - cpu0
    print(f"{n} submissions, workers={args.workers}, exit {rc}, {right}/{n} scored as the sample class expects")
    print(f"wall {wall:.1f} s = {wall / n:.3f} s per submission; load average (1 min) {load_before:.2f} -> "
          f"{os.getloadavg()[0]:.2f} on {os.cpu_count()} CPUs\n")
    print(f"  {'step':<34} {'runs':>5} {'mean ms':>8} {'share of wall':>14}")
    for label, *_ in STEPS:
        runs = times.get(label, [])
        if runs:
            print(f"  {label:<34} {len(runs):>5} {1000 * sum(runs) / len(runs):>8.0f} "
                  f"{100 * sum(runs) / wall:>13.0f}%")
    print(f"\n  CPU seconds per submission: machine {machine / n:.2f} (all processes on it), grader process "
          f"{mine / n:.2f}, the rest {(machine - mine) / n:.2f} (kernels, controllers, engines, fork servers)")
    if not args.record:
        print("  CPU seconds per submission by process (sampled every 20 ms, so a little is missed): " + ", ".join(
            f"{role} {seconds / n:.3f}" for role, seconds in sorted(sampler.totals().items(), key=lambda kv: -kv[1])))
    print(f"  CPU-bound limit on this machine: {machine / n / os.cpu_count():.3f} s per submission "
          f"(machine CPU per submission / {os.cpu_count()} CPUs)")
    if args.record:
        cores = os.cpu_count() or 1
        fresh = fresh_cycles(5, not args.no_sandbox)
        per_sub = sorted(times[PER_SUBMISSION])
        own = sum(times[PREPARE]) + sum(times[EXECUTE]) + sum(times[CLOSE])
        record = {
            "measured_at": datetime.now(UTC).isoformat(timespec="seconds"), "commit": commit(),
            "command": " ".join(["python benchmarks/profile_grading.py", *sys.argv[1:]]).replace(
                f" --record {args.record}", ""),
            "cpus": cores, "memory_gib": psutil.virtual_memory().total / 2**30, "load_before": load_before,
            "workers": args.workers, "sandbox": not args.no_sandbox, "submissions": n, "scored_as_expected": right,
            "submissions_per_minute_per_core": n / wall * 60 / cores,
            "seconds_per_submission_p50": percentile(per_sub, 50),
            "seconds_per_submission_p99": percentile(per_sub, 99),
            "cpu_seconds_per_submission": machine / n, "grader_cpu_seconds_per_submission": mine / n,
            "prepare_seconds_per_submission": sum(times[PREPARE]) / n, "prepare_share": sum(times[PREPARE]) / own,
            "box_seconds_per_submission": sum(times[BOX]) / n,
            "fresh_slot_cpu_seconds": fresh["machine"],
            "fresh_slot_share_of_cpu": min(1.0, fresh["machine"] / (machine / n)),
        }
        md = cost.write(record, args.record)
        print(f"\nwrote {args.record} (the figures) and {md} (the documentation's page made from them)")
    return rc


def percentile(sorted_values: list[float], q: float) -> float:
    """The q-th percentile of sorted values (nearest rank)."""
    rank = max(1, math.ceil(q / 100 * len(sorted_values)))
    return sorted_values[rank - 1]


def commit() -> str:
    done = subprocess.run(["git", "rev-parse", "HEAD"], cwd=ROOT, capture_output=True, text=True)
    return done.stdout.strip() if done.returncode == 0 else "0000000"


if __name__ == "__main__":
    sys.exit(main())
