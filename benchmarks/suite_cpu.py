"""Benchmark: where the test suite's CPU goes, by test file.

    .venv/bin/python benchmarks/suite_cpu.py [FILE ...]     (default: every tests/**/test_*.py)

Runs each test file alone, one after another (``pytest -n 0 FILE``), and reads the machine's busy CPU seconds
(/proc/stat) around each run: everything the file's tests start counts, whoever reaps it (a box's processes end
with their cgroup, so no parent's rusage ever sees them: reading rusage around each test of a normal run accounts
for barely a third of the suite's CPU).  Other load on a shared machine counts too: run it on a quiet one.  Prints
the files by CPU seconds, largest first, with their wall seconds, exit status and share of the total.  The suite's
wall time is bound by CPU on a machine with few cores (``python3 dev.py test`` keeps two cores busy), so this is
the list of what to make cheaper.  Each file's output is kept in benchmarks/.cache/suite_cpu/.  The whole suite
takes over half an hour this way; name the files to measure.
"""

from __future__ import annotations

import os
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "benchmarks"))

from measure import load, machine_cpu  # noqa: E402


def main(args: list[str]) -> int:
    files = args or sorted(str(p.relative_to(ROOT)) for p in (ROOT / "tests").rglob("test_*.py"))
    print(f"{len(files)} test files, each alone; load average at start {load()}", flush=True)
    logs = ROOT / "benchmarks" / ".cache" / "suite_cpu"  # each file's pytest output, read it when one fails
    logs.mkdir(parents=True, exist_ok=True)
    rows = []
    for name in files:
        log = logs / (name.replace("/", "_") + ".log")
        c0, t0 = machine_cpu(), time.perf_counter()
        with open(log, "w") as out:
            rc = subprocess.call([sys.executable, "-m", "pytest", "-q", "-n", "0", "-p", "no:cacheprovider", name],
                                 cwd=ROOT, stdout=out, stderr=subprocess.STDOUT)
        rows.append((name, machine_cpu() - c0, time.perf_counter() - t0, rc))
        print(f"  {name:<52} {rows[-1][1]:7.1f} CPU s {rows[-1][2]:7.1f} s  exit {rc}"
              + (f"  (its output: {log.relative_to(ROOT)})" if rc else ""), flush=True)
    total = sum(cpu for _, cpu, _, _ in rows)
    print(f"\nby CPU, largest first (total {total:.0f} CPU s on {os.cpu_count()} CPUs; load average at end {load()}):")
    print(f"  {'file':<52} {'CPU s':>7} {'share':>6} {'wall s':>7} {'exit':>5}")
    for name, cpu, wall, rc in sorted(rows, key=lambda row: -row[1]):
        print(f"  {name:<52} {cpu:7.1f} {100 * cpu / total:5.1f}% {wall:7.1f} {rc:>5}")
    return max(rc for *_, rc in rows)


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
