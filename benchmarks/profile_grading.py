"""Profile: where one submission's time and CPU go when the grader grades a class.

    .venv/bin/python benchmarks/profile_grading.py [--students 4] [--workers 1] [--no-sandbox]

Grades a sample class (``grader.sample_class``: students x the 7 exercises) with ``grade.main``, with
the grader's own steps wrapped in timers, and prints for each step how often it ran, its mean wall time
and its share of the run; then the CPU seconds per submission: the whole machine's (from /proc/stat, so
other load on a shared machine counts too: read it next to the load average), the grader process's own
(getrusage), and the rest (kernels, controllers, engines, fork servers).  Steps overlap: a worker prepares
the next submission's slot (cluster start, verify, kernel, guard) while the current one executes, so the
wall-time shares add up to more than 100 %.
"""

from __future__ import annotations

import argparse
import collections
import functools
import os
import resource
import sys
import tempfile
import threading
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from course import cluster as cluster_mod  # noqa: E402
from grader import grade, gradebook, sample_class, worker  # noqa: E402
from grader.exercise import load_exercises  # noqa: E402

STEPS = [  # (label, owner, attribute): the grader's steps, in the order a submission meets them
    ("read + restore tests", grade, "read_submission"),
    ("cluster: controller up", cluster_mod.LocalCluster, "_start_controller"),
    ("cluster: engines forked", cluster_mod.LocalCluster, "_start_engines"),
    ("cluster: engines registered", cluster_mod.LocalCluster, "wait_for_engines"),
    ("cluster: verify (ids, pids)", cluster_mod.LocalCluster, "verify"),
    ("kernel: fork + ready", worker.Slot, "_start_kernel"),
    ("kernel: guard installed", worker.Slot, "_install_guard"),
    ("slot prepare (all of the above)", worker.Slot, "prepare"),
    ("execute the notebook", worker.Slot, "execute"),
    ("stop kernel + cluster", worker.Slot, "_stop"),
    ("  of which: cluster.stop", cluster_mod.LocalCluster, "stop"),
    ("record in the gradebook", gradebook.Gradebook, "record"),
]


def cpu_seconds() -> float:
    """Busy CPU seconds of the whole machine so far (all CPUs), from /proc/stat."""
    fields = [int(x) for x in Path("/proc/stat").read_text().split("\n", 1)[0].split()[1:]]
    idle = fields[3] + fields[4]
    return (sum(fields[:8]) - idle) / os.sysconf("SC_CLK_TCK")


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--students", type=int, default=4)
    ap.add_argument("--workers", type=int, default=1)
    ap.add_argument("--no-sandbox", action="store_true")
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

    exercises = load_exercises(ROOT / "exercises")
    with tempfile.TemporaryDirectory(prefix="profile-grading-") as tmp:
        expected = sample_class.make_class(exercises, Path(tmp) / "class", students=args.students)
        n = len(expected)
        load_before = os.getloadavg()[0]
        cpu0, self0, t0 = cpu_seconds(), resource.getrusage(resource.RUSAGE_SELF), time.perf_counter()
        rc = grade.main(submissions=Path(tmp) / "class", source=ROOT / "exercises", gradebook=Path(tmp) / "g.sqlite",
                        workers=args.workers, quiet=True, sandbox=not args.no_sandbox)
        wall, cpu1, self1 = time.perf_counter() - t0, cpu_seconds(), resource.getrusage(resource.RUSAGE_SELF)
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
    print(f"  CPU-bound limit on this machine: {machine / n / os.cpu_count():.3f} s per submission "
          f"(machine CPU per submission / {os.cpu_count()} CPUs)")
    return rc


if __name__ == "__main__":
    sys.exit(main())
