"""Benchmark: what the controller's heartbeat period costs, at a cluster's start and for as long as it lives.

Run from the repository root:

    .venv/bin/python benchmarks/cluster_idle.py [--periods 100 250 500 1000] [--repeats 3] [--idle 20]

For each period (milliseconds), clusters of 4 engines forked from one fork server, as the grader's slots are
(``procbox.cluster.LocalCluster`` with ``procbox.spawners.Forked``), periods interleaved, it prints (it asserts
nothing):

- the median seconds from nothing to "4 engines registered and verified": an engine registers on the second
  heartbeat after it connects, so the start grows with the period;
- the CPU seconds the controller (with its heart monitor) and the engines spend per idle minute: the heart monitor
  pings every engine once per period, whether or not anything runs.

The grader keeps a prepared cluster waiting beside each running one, and the tests keep clusters for a whole session:
the idle figure, times the minutes clusters live, is what a period costs.  ``procbox.cluster.HEARTBEAT_MS`` is the
period every LocalCluster uses.  The machine is shared and noisy: compare the periods within one run.
"""

from __future__ import annotations

import argparse
import statistics
import sys
import tempfile
import time
from pathlib import Path

import psutil

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from procbox.cluster import HEARTBEAT_MS, LocalCluster  # noqa: E402
from procbox.spawners import Forked  # noqa: E402


def cpu_seconds(pids: list[int]) -> float:
    """CPU seconds used so far by ``pids`` and their children (the controller forks its heart monitor)."""
    total = 0.0
    for pid in pids:
        try:
            process = psutil.Process(pid)
            for p in [process, *process.children(recursive=True)]:
                times = p.cpu_times()
                total += times.user + times.system
        except psutil.NoSuchProcess:
            pass
    return total


def measure(server: Forked, period: int, idle: float) -> tuple[float, float, float]:
    """(seconds to start and verify, controller CPU s per idle minute, engines' CPU s per idle minute)."""
    with tempfile.TemporaryDirectory() as tmp:
        cluster = LocalCluster(ipython_dir=tmp, spawner=Forked(server.server, token=server.token),
                               heartbeat_ms=period)
        t0 = time.perf_counter()
        try:
            cluster.start(timeout=60)
            cluster.verify()
            started = time.perf_counter() - t0
            assert cluster.state is not None and cluster.state.controller is not None
            controller = [cluster.state.controller.pid]
            engines = [e.pid for e in cluster.state.engines]
            time.sleep(1)  # past the start's own work
            c0, e0 = cpu_seconds(controller), cpu_seconds(engines)
            time.sleep(idle)
            per_minute = 60 / idle
            return started, (cpu_seconds(controller) - c0) * per_minute, (cpu_seconds(engines) - e0) * per_minute
        finally:
            cluster.stop()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--periods", type=int, nargs="+", default=[100, 250, HEARTBEAT_MS, 1000],
                        help="heartbeat periods to compare, in milliseconds")
    parser.add_argument("--repeats", type=int, default=3, help="clusters started per period")
    parser.add_argument("--idle", type=float, default=20, help="seconds each cluster is left idle")
    args = parser.parse_args()
    periods = sorted(set(args.periods))
    server = Forked()
    server.open({})
    rows: dict[int, list[tuple[float, float, float]]] = {p: [] for p in periods}
    try:
        for _ in range(args.repeats):
            for period in periods:
                rows[period].append(measure(server, period, args.idle))
    finally:
        server.close()
    print(f"4 forked engines, {args.repeats} clusters per period, {args.idle:.0f} s idle each "
          f"(HEARTBEAT_MS = {HEARTBEAT_MS})")
    print(f"{'period ms':>10} {'start s':>8} {'controller CPU s/min':>21} {'engines CPU s/min':>18}")
    for period in periods:
        start, controller, engines = (statistics.median(column) for column in zip(*rows[period]))
        print(f"{period:>10} {start:>8.2f} {controller:>21.3f} {engines:>18.3f}")
    base = statistics.median(c + e for _, c, e in rows[periods[0]])
    for period in periods[1:] if base else ():  # no ratio to a period that measured no CPU at all
        cost = statistics.median(c + e for _, c, e in rows[period])
        print(f"idle CPU at {period} ms / at {periods[0]} ms: {cost / base:.2f}")


if __name__ == "__main__":
    main()
