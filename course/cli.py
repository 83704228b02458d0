"""``course``: the student's command line (cluster, data mirror, self-check).

Exit codes: 0 done, 1 something failed, 2 usage error.
"""

from __future__ import annotations

import argparse
import sys

from procbox import cluster, rundirs

from . import data


def _cluster_start(args) -> int:
    """Every launcher goes through ipyparallel's Cluster API (procbox.ippcluster), so the cluster has the cluster
    file JupyterLab's IPython Parallel panel lists, and the panel can stop it."""
    from procbox import ippcluster

    try:
        rec = ippcluster.start(args.launcher, n=args.n, profile=args.profile,
                               timeout=args.timeout or (60 if args.launcher == "local" else 120))
    except cluster.ClusterError as e:
        print(f"course cluster start: {e}", file=sys.stderr)
        return 1
    where = sorted({e["host"] for e in rec.engines})
    print(f"Started {rec.n} engines (ids 0..{rec.n - 1}) with ipyparallel's {args.launcher} launcher in "
          f"{rec.profile_dir}"
          + (f", Slurm job {rec.job_id}" if rec.job_id else "") + f", on {', '.join(where)}")
    print(f"ipyparallel's cluster file: {rec.cluster_file}")
    print("Connect from Python or a notebook with: import ipyparallel as ipp; rc = ipp.Client()"
          + ("" if args.profile == "default"
             else f" (with IPython profile {args.profile}: ipp.Client(profile={args.profile!r}))"))
    print("Stop it with: course cluster stop" + ("" if args.profile == "default" else f" --profile {args.profile}"))
    return 0


def _ipp_cluster_status(args) -> int | None:
    """Status of an MPI/Slurm cluster in the profile; None if there is none (then the local cluster's is shown)."""
    from procbox import ippcluster

    st = ippcluster.status(profile=args.profile)
    if st is None:
        return None
    print(f"Cluster in {st['profile_dir']} ({st['launcher']} launcher, started by {st['started_by']}; "
          f"ipyparallel's cluster file {st['cluster_file'] or 'GONE'})")
    print(f"  controller  pid {st['controller_pid']}  {'running' if st['controller_alive'] else 'EXITED'}")
    for es in st["engine_sets"]:
        what = (f"Slurm job {es['job_id']} ({st['job_state'] or 'not in the queue'})" if es["job_id"]
                else f"pid {es['pid']}" if (es["pid"] or 0) > 0 else "one process per engine")
        print(f"  engine set {es['id']}: {es['n']} engines via {es['launcher']}, {what}")
    for e in st["engines"]:
        state = {True: "running", False: "EXITED", None: "on another host"}[e["alive"]]
        rank = "" if e.get("rank") is None else f"  MPI rank {e['rank']}"
        print(f"  engine {'?' if e['id'] is None else e['id']:<4} pid {e['pid']}  on {e['host']}{rank}  {state}")
    return 0 if st["running"] else 1


def _cluster_status(args) -> int:
    code = _ipp_cluster_status(args)
    if code is not None:
        return code
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
    from procbox import ippcluster

    pids = ippcluster.stop(profile=args.profile) + cluster.reap(profile=args.profile)
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
    start.add_argument("--timeout", type=float, default=None,
                       help="seconds to wait for the engines (default 60; 120 with --launcher mpi or slurm)")
    start.add_argument("--launcher", choices=["local", "mpi", "slurm"], default="local",
                       help="local: engines on this machine (default); mpi: one mpiexec job of engines; "
                            "slurm: engines in a Slurm batch job (ipyparallel's own launchers, with the profiles "
                            "in procbox/profiles/ of the course)")
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
    from .startup import skip_slow_format_checkers

    skip_slow_format_checkers()
    args = build_parser().parse_args(argv)
    return args.func(args)


if __name__ == "__main__":
    sys.exit(main())
