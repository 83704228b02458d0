"""Benchmark: how often a new ipyparallel Client misses its engines' first output, with and without
``course.listening``.

    .venv/bin/python benchmarks/client_race.py [--clients 200]

Starts a 4-engine cluster (procbox, forked engines), then for each of ``--clients`` new clients sends
one ``execute`` to every engine at once and waits up to 3 s for its output (``wait_for_output``):
first bare, then after ``listening(client)``.  Prints how many outputs were lost each way.  The race
is rare and depends on load (0 to 2 in 100 here), so read "lost" as a rate, not a constant.
"""

from __future__ import annotations

import argparse
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

import ipyparallel as ipp  # noqa: E402

from course.clients import listening  # noqa: E402
from procbox.cluster import LocalCluster  # noqa: E402
from procbox.spawners import Forked  # noqa: E402


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--clients", type=int, default=200)
    args = ap.parse_args()
    with (tempfile.TemporaryDirectory(prefix="client-race-") as tmp,
          LocalCluster(ipython_dir=Path(tmp) / "ipython", spawner=Forked()) as cluster):
            for warm in (False, True):
                lost, t0 = 0, time.perf_counter()
                for _ in range(args.clients):
                    client = ipp.Client(str(cluster.client_file))
                    try:
                        if warm:
                            listening(client)
                        ar = client[:].execute("import os", silent=False)
                        ar.get(10)
                        lost += not ar.wait_for_output(3)
                    finally:
                        client.close()
                label = "after listening(client)" if warm else "bare ipp.Client()"
                print(f"{label:<26} lost the first output of {lost} of {args.clients} new clients "
                      f"({time.perf_counter() - t0:.1f} s)", flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
