"""Benchmark: how far grading scales: measured here, projected to a class on H hosts of C cores.

    .venv/bin/python benchmarks/capacity.py [--students 8] [--exercises N] [--quick]
                                            [--project 1000x10] [--hosts 1,4,16,64] [--cores 2,8,32]

Run from the repository root (about 10 minutes on 2 cores; ``--quick``: 4 students x 4 exercises, 3).

It grades one sample class (``grader.sample_class``: students x exercises) with ``python -m grader grade``
as an instructor would, for real, in these runs:

1. LOCAL, 1 worker, on half the class and on all of it: a straight line through the two runs gives the
   per-run overhead (process start, discovery, the sandbox's preflight) and the wall time per submission
   of one worker; /proc/stat gives the machine's busy CPU seconds per submission;
2. CLUSTER, an outer ipyparallel cluster of 1 engine (``grader grade --cluster``): its per-submission wall
   time and the overhead of the outer cluster (its start and each engine's worker set-up);
3. then the checks, from this one run: LOCAL with 2 workers, two SHARDs (``--shard 0/2`` and ``1/2``) run at
   once plus ``grader merge``, and CLUSTER with 2 engines, each measured and each predicted beforehand from
   the 1-worker figures alone by the model below.  Their ratio (measured / predicted) says how far to trust
   the projection.

The model.  A host of C cores runs k = min(C, 4) workers (the grader's default).  A worker alone grades
a submission in w seconds of wall time and the machine spends c CPU seconds on it, so the host grades
R(C) = min(k / w, C / c) submissions per second: as many as its workers can turn round, unless their CPU
demand exceeds the cores.  A class of P = students x exercises submissions then takes

    local    a + P / R(C)                               (one host)
    shard    a + P_max / R(C) + m(H)                    (P_max: the largest share by the shard hash;
                                                         m(H): merging H gradebooks, measured per gradebook)
    cluster  a_c + P / (H R_c(C))                       (w_c, c_c measured on the cluster path)

with a, a_c the per-run overheads measured above.  It prints the measured figures, the checks and the
projection table.  Every process it starts is stopped; logs go to benchmarks/.cache/capacity/.
"""

from __future__ import annotations

import argparse
import os
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

import ipyparallel as ipp  # noqa: E402
import psutil  # noqa: E402

from grader.exercise import load_exercises  # noqa: E402
from grader.grade import shard_of  # noqa: E402
from grader.gradebook import Gradebook  # noqa: E402
from grader.sample_class import make_class  # noqa: E402
from measure import load, machine_cpu  # noqa: E402

LOGS = ROOT / "benchmarks" / ".cache" / "capacity"


class Run:
    """One measured run: wall seconds, busy CPU seconds of the machine, submissions graded."""

    def __init__(self, label: str, wall: float, cpu: float, n: int):
        self.label, self.wall, self.cpu, self.n = label, wall, cpu, n

    def __str__(self):
        return (f"{self.label:<34} {self.n:>4} submissions  {self.wall:7.1f} s wall  {self.wall / self.n:5.2f} s each"
                f"  {self.cpu / self.n:5.2f} CPU-s each")


def grade_cmd(subs: Path, source: Path, book: Path, *extra: str) -> list[str]:
    return [sys.executable, "-m", "grader", "grade", str(subs), "--source", str(source), "--gradebook", str(book),
            "--quiet", "--force", *extra]


def run_all(label: str, cmds: list[list[str]], books: list[Path]) -> Run:
    """Start every command at once (in its own process group), wait for all; check each exit code."""
    cpu0, t0 = machine_cpu(), time.perf_counter()
    procs = []
    try:
        for i, cmd in enumerate(cmds):
            with open(LOGS / f"{label.replace(' ', '_').replace('/', '-')}-{i}.log", "w") as log:
                procs.append(subprocess.Popen(cmd, cwd=ROOT, stdout=log, stderr=subprocess.STDOUT,
                                              start_new_session=True))
        codes = [p.wait(timeout=3600) for p in procs]
    finally:
        for p in procs:  # after a crash or an interrupt: the whole group, by its id
            if p.poll() is None:
                os.killpg(p.pid, 9)
                p.wait()
    wall, cpu = time.perf_counter() - t0, machine_cpu() - cpu0
    if any(codes):
        raise SystemExit(f"{label}: grader exited with {codes}; see {LOGS}")
    return Run(label, wall, cpu, sum(graded(b) for b in books))


def graded(book: Path) -> int:
    with Gradebook(book) as gb:
        return len(list(gb.submissions()))


def scores(book: Path) -> dict:
    with Gradebook(book) as gb:
        return {(r.student, r.exercise): r.final for r in gb.submissions()}


class OuterCluster:
    """An ipyparallel cluster of n engines on this machine (ipyparallel's own launchers), for --cluster."""

    def __init__(self, n: int, where: Path):
        self.n, self.profile = n, where / f"profile_outer{n}"

    def __enter__(self):
        t0 = time.perf_counter()
        self.cluster = ipp.Cluster(n=self.n, profile_dir=str(self.profile), log_level=40, shutdown_atexit=False)
        self.cluster.start_cluster_sync()
        client = self.cluster.connect_client_sync()
        client.wait_for_engines(self.n, timeout=120)
        client.close()
        self.start = time.perf_counter() - t0
        return self

    def __exit__(self, *exc):
        started = psutil.Process().children(recursive=True)
        self.cluster.stop_cluster_sync()
        _, alive = psutil.wait_procs(started, timeout=15)
        for proc in alive:  # nannies can outlive the cluster's own stop; by PID
            proc.kill()
        psutil.wait_procs(alive, timeout=5)


def rate(cores: int, w: float, c: float) -> float:
    """Submissions per second of a host with ``cores`` cores: min(k/w, C/c) with k = C workers (one per core:
    grader.local.default_workers, on a host whose memory holds them)."""
    return min(cores / w, cores / c)


def largest_share(names: list[str], exercises: int, hosts: int) -> int:
    """Submissions in the largest of ``hosts`` shards of these students (the grader's shard hash)."""
    counts = [0] * hosts
    for name in names:
        counts[shard_of(name, hosts)] += 1
    return max(counts) * exercises


def fmt_time(seconds: float) -> str:
    if seconds < 120:
        return f"{seconds:.0f} s"
    if seconds < 7200:
        return f"{seconds / 60:.1f} min"
    return f"{seconds / 3600:.1f} h"


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--students", type=int, default=8)
    ap.add_argument("--exercises", type=int, default=None, help="the first N exercises (default: all)")
    ap.add_argument("--quick", action="store_true", help="4 students x 4 exercises")
    ap.add_argument("--project", default="1000x10", help="the class to project, STUDENTSxEXERCISES")
    ap.add_argument("--hosts", default="1,4,16,64")
    ap.add_argument("--cores", default="2,8,32")
    args = ap.parse_args()
    if args.quick:
        args.students, args.exercises = 4, 4
    LOGS.mkdir(parents=True, exist_ok=True)

    with tempfile.TemporaryDirectory(prefix="capacity-") as tmp_:
        tmp = Path(tmp_)
        source = tmp / "source"
        source.mkdir()
        chosen = sorted((ROOT / "exercises").glob("[0-9][0-9]-*.ipynb"))[: args.exercises]
        for nb in chosen:
            shutil.copy(nb, source)
        exercises = load_exercises(source)
        half = max(1, args.students // 2)
        make_class(exercises, tmp / "half", students=half, seed=7)
        make_class(exercises, tmp / "class", students=args.students, seed=7)
        subs = tmp / "class"
        print(f"class: {args.students} students x {len(exercises)} exercises; {os.cpu_count()} CPUs; "
              f"load {load()}", flush=True)

        book = lambda name: tmp / f"{name}.sqlite"  # noqa: E731
        print("\nmeasured (1 worker):", flush=True)
        small = run_all("local 1 worker, half the class",
                        [grade_cmd(tmp / "half", source, book("h1"), "--workers", "1")], [book("h1")])
        print(" ", small, flush=True)
        full = run_all("local 1 worker", [grade_cmd(subs, source, book("l1"), "--workers", "1")], [book("l1")])
        print(" ", full, flush=True)
        w = (full.wall - small.wall) / (full.n - small.n)  # wall per submission of one worker
        a = max(0.0, full.wall - w * full.n)  # the per-run overhead
        c = full.cpu / full.n
        with OuterCluster(1, tmp) as outer:
            clus1 = run_all("cluster, 1 engine", [grade_cmd(subs, source, book("c1"), "--cluster", str(outer.profile))],
                            [book("c1")])
        print(" ", clus1, f"(outer cluster started in {outer.start:.1f} s)", flush=True)
        # the cluster path's per-submission figures, with the local run's overhead a as its floor
        w_c = max(w, (clus1.wall - a) / clus1.n)
        c_c = clus1.cpu / clus1.n
        a_c = a + outer.start
        print(f"  model: a = {a:.1f} s per run, w = {w:.2f} s and c = {c:.2f} CPU-s per submission (local); "
              f"w_c = {w_c:.2f} s, c_c = {c_c:.2f} CPU-s, a_c = {a_c:.1f} s (cluster)", flush=True)

        print("\nchecks (predicted from the 1-worker figures, then measured):", flush=True)
        n = full.n
        cores_here = len(os.sched_getaffinity(0))
        checks = []
        pred = a + n / rate(min(2, cores_here), w, c) if cores_here >= 2 else a + n / rate(1, w, c)
        local2 = run_all("local 2 workers", [grade_cmd(subs, source, book("l2"), "--workers", "2")], [book("l2")])
        checks.append((local2, pred))
        # two shards at once on this machine: two hosts of one core each, sharing it
        shard_books = [book("s0"), book("s1")]
        share = largest_share([d.name for d in subs.iterdir()], len(exercises), 2)
        t0 = time.perf_counter()
        shards = run_all("2 shards (1 worker each) + merge",
                         [grade_cmd(subs, source, shard_books[k], "--workers", "1", "--shard", f"{k}/2")
                          for k in (0, 1)],
                         shard_books)
        m0 = time.perf_counter()
        merged = book("merged")
        subprocess.run([sys.executable, "-m", "grader", "merge", "--out", str(merged), *map(str, shard_books)],
                       cwd=ROOT, check=True, capture_output=True)
        merge_each = (time.perf_counter() - m0) / len(shard_books)
        shards.wall = time.perf_counter() - t0
        checks.append((shards, a + share / rate(1, w, c) + merge_each * 2))
        with OuterCluster(2, tmp) as outer2:
            clus2 = run_all("cluster, 2 engines",
                            [grade_cmd(subs, source, book("c2"), "--cluster", str(outer2.profile))], [book("c2")])
        clus2.wall += outer2.start
        checks.append((clus2, a_c + n / (2 * rate(1, w_c, c_c))))
        for run, predicted in checks:
            print(f"  {run.label:<34} predicted {predicted:7.1f} s   measured {run.wall:7.1f} s   "
                  f"measured/predicted {run.wall / predicted:4.2f}", flush=True)
        reference = scores(book("l1"))
        same = all(scores(b) == reference for b in (book("l2"), merged, book("c1"), book("c2")))
        print(f"  same scores on every path as the 1-worker local run: {'yes' if same else 'NO'}", flush=True)
        # per core: a bigger host scales if this figure holds as workers (one per core) are added
        print("\nper-core throughput of the local runs (submissions per minute per core in use):", flush=True)
        for run, in_use in ((full, 1), (local2, min(2, cores_here))):
            print(f"  {run.label:<34} {run.n / run.wall * 60 / in_use:7.1f} on {in_use} core{'s' * (in_use != 1)}",
                  flush=True)

    students, exs = (int(x) for x in args.project.lower().split("x"))
    total = students * exs
    hosts = [int(h) for h in args.hosts.split(",")]
    cores = [int(x) for x in args.cores.split(",")]
    print(f"\nprojection: {students} students x {exs} exercises = {total} submissions "
          f"(m = {merge_each:.2f} s per merged gradebook)")
    print(f"  {'hosts x cores':<14} {'local':>10} {'shard':>10} {'cluster':>10}")
    for C in cores:
        for H in hosts:
            local = fmt_time(a + total / rate(C, w, c)) if H == 1 else "-"
            largest = largest_share([f"student{i:05d}" for i in range(students)], exs, H)
            shard = fmt_time(a + largest / rate(C, w, c) + merge_each * H)
            cluster = fmt_time(a_c + total / (H * rate(C, w_c, c_c)))
            print(f"  {f'{H} x {C}':<14} {local:>10} {shard:>10} {cluster:>10}")
    worst = max(run.wall / predicted for run, predicted in checks)
    print(f"  (the checks above took up to {worst:.2f}x the model's time here, the most where the workers keep "
          "every core busy: read the table with that margin)")
    return 0 if same else 1


if __name__ == "__main__":
    sys.exit(main())
