"""``course``: the student's command line (cluster, data mirror, self-check).

Exit codes: 0 done, 1 something failed, 2 usage error.
"""

from __future__ import annotations

import argparse
import sys

from procbox import cluster, rundirs

from . import data


def _cluster_start(args) -> int:
    lc = cluster.LocalCluster(n=args.n, profile=args.profile, owned=False)
    try:
        lc.start(timeout=args.timeout)
    except cluster.ClusterError as e:
        print(f"course cluster start: {e}", file=sys.stderr)
        return 1
    print(f"Started {args.n} engines (ids 0..{args.n - 1}) in {lc.profile_dir}")
    print("Connect from Python or a notebook with: import ipyparallel as ipp; rc = ipp.Client()")
    print("Stop it with: course cluster stop" + ("" if args.profile == "default" else f" --profile {args.profile}"))
    return 0


def _cluster_status(args) -> int:
    st = cluster.status(profile=args.profile)
    if st is None or not st["running"]:
        print(f"No course cluster is running in {cluster.profile_dir_for(None, args.profile)}")
        return 1
    print(f"Cluster in {st['profile_dir']}")
    print(f"  controller  pid {st['controller_pid']}  {'running' if st['controller_alive'] else 'EXITED'}")
    for e in st["engines"]:
        print(f"  engine {e['id']:<4} pid {e['pid']}  {'running' if e['alive'] else 'EXITED'}")
    return 0


def _cluster_stop(args) -> int:
    pids = cluster.reap(profile=args.profile)
    if pids:
        print(f"Stopped {len(pids)} cluster processes: {' '.join(map(str, pids))}")
    else:
        print(f"No course cluster was running in {cluster.profile_dir_for(None, args.profile)}")
    removed = rundirs.sweep_stale(rundirs.PREFIX)  # run directories of graders that were killed (kill -9)
    if removed:
        print(f"Removed {len(removed)} run director{'y' if len(removed) == 1 else 'ies'} left by killed graders: "
              + " ".join(map(str, removed)))
    return 0


def _data_serve(args) -> int:
    data.serve(port=args.port)
    return 0


def _data_verify(args) -> int:
    problems = data.verify()
    for p in problems:
        print(p, file=sys.stderr)
    if problems:
        print("Regenerate the files with `python data/make_ngrams.py` (or `git checkout data/`).", file=sys.stderr)
        return 1
    print(f"All {len(data.load_manifest())} n-gram files match {data.DATA_DIR / 'manifest.json'}")
    return 0


def _check(args) -> int:
    from .check import main as check_main

    return check_main(notebook=args.notebook, timeout=args.timeout)


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="course", description=__doc__.splitlines()[0])
    sub = parser.add_subparsers(dest="command", required=True)

    cl = sub.add_parser("cluster", help="start, inspect or stop the local ipyparallel cluster")
    clsub = cl.add_subparsers(dest="action", required=True)
    start = clsub.add_parser("start", help="start a controller and N engines")
    start.add_argument("-n", type=int, default=cluster.DEFAULT_ENGINES, help="number of engines (default 4)")
    start.add_argument("--timeout", type=float, default=60, help="seconds to wait for the engines")
    start.set_defaults(func=_cluster_start)
    stat = clsub.add_parser("status", help="show the cluster's processes")
    stat.set_defaults(func=_cluster_status)
    stop = clsub.add_parser("stop", help="stop the cluster (also one left by a crash)")
    stop.set_defaults(func=_cluster_stop)
    for p in (start, stat, stop):
        p.add_argument("--profile", default="default", help="IPython profile (default: default)")

    dt = sub.add_parser("data", help="the n-gram sample files")
    dtsub = dt.add_subparsers(dest="action", required=True)
    serve = dtsub.add_parser("serve", help="serve the files on 127.0.0.1 like Google's bucket")
    serve.add_argument("--port", type=int, default=8765)
    serve.set_defaults(func=_data_serve)
    verify = dtsub.add_parser("verify", help="check the files against the manifest")
    verify.set_defaults(func=_data_verify)

    ck = sub.add_parser("check", help="run a released exercise's public tests and show the score")
    ck.add_argument("notebook", help="path to your exercise notebook")
    ck.add_argument("--timeout", type=float, default=120, help="seconds per cell")
    ck.set_defaults(func=_check)
    return parser


def main(argv: list[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    return args.func(args)


if __name__ == "__main__":
    sys.exit(main())
