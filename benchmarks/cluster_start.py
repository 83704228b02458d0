"""Benchmark: how long a 4-engine cluster takes to start, and what one shared cluster saves.

Run from the repository root:

    .venv/bin/python benchmarks/cluster_start.py [--repeats 3] [--nb-repeats 3] [--skip-notebooks]

It prints (it asserts nothing):

1. Seconds from nothing to "4 engines registered and verified" (one round trip to
   every engine), each start in a fresh temporary IPYTHONDIR, variants interleaved:
   - default: ``ipp.Cluster(n=4, ...)`` with ipyparallel's defaults (3 s heartbeat,
     nanny, scheduler subprocesses, engine start delay);
   - tuned: ``procbox.cluster.LocalCluster`` (500 ms heartbeat, no nanny, schedulers
     in threads, no delay);
   - tuned-hb3000: LocalCluster with the default 3 s heartbeat, to isolate its effect;
   - forked restart: ``LocalCluster(spawner=Forked()).restart()`` on a cluster kept across
     repeats: every process new, but forked from a server that imported ipyparallel
     once (what the grader pays between submissions).
2. Wall time to execute every tutorial in notebooks/ (sorted) with ONE shared
   LocalCluster versus one cluster PER NOTEBOOK; cluster start and stop count in both.

The machine is shared and noisy: read the medians and the ratios, which are
computed within the run, rather than absolute times.  Every cluster it starts is
stopped in a ``finally`` (Ctrl-C and SIGTERM included); nothing is killed by name.
"""

from __future__ import annotations

import argparse
import os
import signal
import statistics
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

import ipyparallel as ipp  # noqa: E402
import nbformat  # noqa: E402

from course.data import start_mirror  # noqa: E402
from procbox.cluster import HEARTBEAT_MS, LocalCluster  # noqa: E402
from procbox.spawners import Forked  # noqa: E402


def start_default(tmp: str) -> float:
    """ipyparallel's defaults: start, connect, wait for 4 engines, one round trip; then stop."""
    t0 = time.perf_counter()
    cluster = ipp.Cluster(n=4, profile_dir=os.path.join(tmp, "profile_default"), cluster_id="", log_level=40)
    rc = None
    try:
        cluster.start_cluster_sync()
        rc = cluster.connect_client_sync()
        rc.wait_for_engines(4, timeout=120, interactive=False)
        rc[:].apply_sync(os.getpid)
        return time.perf_counter() - t0
    finally:
        if rc is not None:
            rc.close()
        cluster.stop_cluster_sync()


def start_tuned(tmp: str, heartbeat_ms: int = HEARTBEAT_MS) -> float:
    t0 = time.perf_counter()
    with LocalCluster(ipython_dir=tmp, heartbeat_ms=heartbeat_ms, engine_cwd=tmp) as cluster:
        cluster.verify()
        return time.perf_counter() - t0


class ForkedRestart:
    """One fork-server cluster for the whole run; each call times a full restart (new processes) and a verify."""

    def __init__(self):
        self.tmp = tempfile.TemporaryDirectory(prefix="bench-ipy-")
        self.cluster = LocalCluster(ipython_dir=self.tmp.name, engine_cwd=self.tmp.name, spawner=Forked()).start()

    def __call__(self, _tmp: str) -> float:
        t0 = time.perf_counter()
        self.cluster.restart()
        self.cluster.verify()
        return time.perf_counter() - t0

    def close(self) -> None:
        self.cluster.stop()
        self.tmp.cleanup()


def run_notebooks(paths: list[Path], mirror_url: str, shared: bool) -> float:
    """Wall time to execute all notebooks, with one shared cluster or one cluster per notebook."""
    from grader.lessons import execute_notebook

    groups = [paths] if shared else [[p] for p in paths]
    t0 = time.perf_counter()
    for group in groups:
        with tempfile.TemporaryDirectory(prefix="bench-ipy-") as tmp, \
                LocalCluster(ipython_dir=tmp, engine_cwd=tmp) as cluster:
            for path in group:
                execute_notebook(nbformat.read(path, as_version=4), cwd=path.parent,
                                 ipython_dir=cluster.ipython_dir, mirror_url=mirror_url)
    return time.perf_counter() - t0


def row(name: str, times: list[float]) -> str:
    return f"  {name:<22} {statistics.median(times):8.2f} {min(times):8.2f}   " + \
        " ".join(f"{t:.2f}" for t in times)


def ratio(label: str, num: list[float], den: list[float]) -> str:
    return (f"  {label:<34} median {statistics.median(num) / statistics.median(den):5.2f}x"
            f"   min {min(num) / min(den):5.2f}x")


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--repeats", type=int, default=3, help="starts per variant (default 3)")
    ap.add_argument("--nb-repeats", type=int, default=3, help="runs of each notebook variant (default 3)")
    ap.add_argument("--skip-notebooks", action="store_true", help="only measure cluster start")
    args = ap.parse_args()
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(143))  # so the finally blocks run

    cores = len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else os.cpu_count()
    print(f"cores: {cores} usable ({os.cpu_count()} total); "
          f"load average at start: {' '.join(f'{x:.2f}' for x in os.getloadavg())}", flush=True)

    forked = ForkedRestart()
    variants = {"default (ipp.Cluster)": start_default, "tuned (LocalCluster)": start_tuned,
                "tuned, heartbeat 3000": lambda tmp: start_tuned(tmp, heartbeat_ms=3000),
                "forked restart": forked}
    starts: dict[str, list[float]] = {name: [] for name in variants}
    try:
        for i in range(args.repeats):  # interleaved, so load drifts hit every variant alike
            for name, fn in variants.items():
                with tempfile.TemporaryDirectory(prefix="bench-ipy-") as tmp:
                    starts[name].append(fn(tmp))
                print(f"  start {i + 1}/{args.repeats} {name}: {starts[name][-1]:.2f} s", flush=True)
    finally:
        forked.close()

    walls: dict[str, list[float]] = {}
    if not args.skip_notebooks:
        paths = sorted((ROOT / "notebooks").glob("[0-9][0-9]-*.ipynb"))
        walls = {f"shared cluster ({len(paths)} nbs)": [], "cluster per notebook": []}
        with start_mirror() as mirror:
            for i in range(args.nb_repeats):
                for name, shared in zip(walls, (True, False)):
                    walls[name].append(run_notebooks(paths, mirror.url, shared))
                    print(f"  notebooks {i + 1}/{args.nb_repeats} {name}: {walls[name][-1]:.1f} s", flush=True)

    print(f"\n== 1. Start to 4 engines registered and verified ({args.repeats} repeats, seconds)")
    print(f"  {'variant':<22} {'median':>8} {'min':>8}   all")
    for name, times in starts.items():
        print(row(name, times))
    d, t, h, f = starts.values()
    print(ratio("default / tuned", d, t))
    print(ratio("default / forked restart", d, f))
    print(ratio("tuned-hb3000 / tuned (heartbeat)", h, t))
    print(ratio("default / tuned-hb3000 (the rest)", d, h))
    if walls:
        print(f"\n== 2. Execute all tutorials, cluster start/stop included ({args.nb_repeats} repeats, seconds)")
        print(f"  {'variant':<22} {'median':>8} {'min':>8}   all")
        for name, times in walls.items():
            print(row(name, times))
        s, p = walls.values()
        print(ratio("per-notebook / shared", p, s))
        print(f"  extra per notebook: {(statistics.median(p) - statistics.median(s)) / len(paths):.2f} s (median)")
    print(f"\nload average at end: {' '.join(f'{x:.2f}' for x in os.getloadavg())}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
