"""``grader``: release exercises, grade a class against a 4-engine cluster, export grades, write feedback.

Exit codes: 0 done, 1 something failed to grade or run, 2 usage error.
"""

from __future__ import annotations

import argparse
import inspect
import sys


def _size(n: int) -> str:
    return f"{n // 2**30}G" if n % 2**30 == 0 else f"{n // 2**20}M"


def parse_size(text: str) -> int:
    from procbox.box import parse_size as parse

    try:
        return parse(text)
    except ValueError as e:
        raise argparse.ArgumentTypeError(str(e)) from None


def _defaults(func) -> dict:
    return {k: p.default for k, p in inspect.signature(func).parameters.items() if p.default is not p.empty}


def build_parser() -> argparse.ArgumentParser:
    from . import demo, export, feedback, grade, manual, merge, release, report

    parser = argparse.ArgumentParser(prog="grader", description=__doc__.splitlines()[0])
    workers_default = (f"one per CPU, at most 4: {grade.default_workers()} here, and at most one per "
                       f"{grade.SUBMISSIONS_PER_WORKER} submissions")
    sub = parser.add_subparsers(dest="command", required=True)

    d = _defaults(release.main)
    p = sub.add_parser("release", help="write student versions of the exercises")
    p.add_argument("course", nargs="?", default=None, help="an nbgrader course directory: release "
                   "source/<assignment>/ to release/<assignment>/ as nbgrader does (default: the flat --source)")
    p.add_argument("--assignment", default=None, help="only this assignment of the nbgrader course")
    p.add_argument("--source", default=d["source"], help="instructor exercises (default: %(default)s)")
    p.add_argument("--out", default=d["out"], help="where student versions go (default: %(default)s)")
    p.set_defaults(func=release.main)

    d = _defaults(grade.main)
    p = sub.add_parser("grade", help="grade SUBMISSIONS/<student>/<NN-name>.ipynb, or an nbgrader course as it is")
    p.add_argument("submissions", metavar="SUBMISSIONS|COURSE", help="a folder with one sub-folder per student, "
                   "or an nbgrader course directory (source/<assignment>/ and submitted/<student>/<assignment>/)")
    p.add_argument("--assignment", default=None, help="in an nbgrader course, grade only this assignment "
                   "(default: every assignment)")
    p.add_argument("--due", action="append", default=[], metavar="[ASSIGNMENT=]WHEN", help="a due date, e.g. "
                   "ps1='2026-01-10 17:00 Europe/Berlin' (repeatable; without ASSIGNMENT= for all; an nbgrader "
                   "course's own due dates are read from its gradebook.db)")
    p.add_argument("--late-policy", default=d["late_policy"], help="none, zero, per-hour:P or per-day:P "
                   "(P percent of the points possible off per hour or day late; default: %(default)s)")
    p.add_argument("--grace", default=d["grace"], help="lateness that costs nothing, e.g. 15m (default: none)")
    p.add_argument("--shard", default=None, metavar="K/N", help="grade only share K of N (0 <= K < N), fixed by "
                   "student name: for a Slurm job array (--shard $SLURM_ARRAY_TASK_ID/N) or a Kubernetes Indexed "
                   "Job ($JOB_COMPLETION_INDEX/N); combine the gradebooks with grader merge")
    p.add_argument("--cluster", default=None, metavar="PROFILE", help="grade on the engines of this running "
                   "ipyparallel cluster, one worker per engine, each with sealed boxes on its own host")
    p.add_argument("--submitted-at", default=None, metavar="CSV", help="submission times (columns student, "
                   "assignment, submitted_at) where there is no nbgrader timestamp.txt, or to override it")
    p.add_argument("--source", default=d["source"], help="instructor exercises (default: %(default)s)")
    p.add_argument("--gradebook", default=d["gradebook"], help="SQLite gradebook (default: %(default)s)")
    p.add_argument("--timeout", type=float, default=d["timeout"], help="seconds per cell (default: %(default)s)")
    p.add_argument("--budget", type=float, default=d["budget"], help="seconds all the cells of one submission may "
                   "take together, at least --timeout; the cells after it ran out do not run (default: %(default)s)")
    p.add_argument("--network", choices=["none", "host"], default=d["network"], help="none: each submission's box "
                   "has a network of its own with loopback only (its cluster, kernel and n-gram mirror); host: the "
                   "machine's network, for exercises that need the internet (default: %(default)s)")
    p.add_argument("--workers", type=int, default=None, help="submissions graded at once, each with its own "
                   f"clusters (default: {workers_default})")
    p.add_argument("--engines", type=int, default=d["engines"], help="engines per cluster (default: %(default)s)")
    p.add_argument("--force", action="store_true", help="regrade submissions already graded and unchanged")
    p.add_argument("--student", default=None, help="grade only this student")
    p.add_argument("--quiet", action="store_true", help="no progress bar or summary")
    p.add_argument("--no-sandbox", dest="sandbox", action="store_false",
                   help="run student code unconfined, where the sandbox cannot be made or does not hold (it needs "
                   "root or user namespaces; see the threat model in README.md); every row then says so")
    p.add_argument("--memory", type=parse_size, default=d["memory"], help="memory of all the processes of one "
                   f"submission together, e.g. 2G (default: {_size(d['memory'])})")
    p.add_argument("--max-procs", type=int, default=d["max_procs"], help="processes and threads of one submission "
                   "together (default: %(default)s)")
    p.add_argument("--tmp-size", dest="tmp_bytes", type=parse_size, default=d["tmp_bytes"],
                   help=f"bytes a submission may keep in /tmp (default: {_size(d['tmp_bytes'])})")
    p.add_argument("--work-size", dest="work_bytes", type=parse_size, default=d["work_bytes"],
                   help="bytes a submission may keep in its working directory "
                   f"(default: {_size(d['work_bytes'])})")
    p.add_argument("--max-bytes", type=int, default=d["max_bytes"], help="largest notebook file accepted "
                   "(default: %(default)s)")
    p.set_defaults(func=grade.main)

    d = _defaults(export.main)
    p = sub.add_parser("export", help="write scores as CSV or JSON")
    p.add_argument("--gradebook", default=d["gradebook"])
    p.add_argument("--format", choices=["csv", "json", "canvas", "gradescope"], default=d["format"],
                   help="csv or json at --level; canvas: Canvas's gradebook import CSV (with --roster); "
                   "gradescope: a results.json per submission in the folder -o (default: %(default)s)")
    p.add_argument("--level", choices=["test", "exercise", "student"], default=d["level"])
    p.add_argument("-o", "--output", default=None, help="file to write (default: standard output)")
    p.add_argument("--roster", default=None, help="for canvas: your Canvas gradebook export (or a CSV with "
                   "Student, ID, SIS User ID, SIS Login ID, Section and each student's folder name)")
    p.add_argument("--roster-key", default=None, help="the roster column holding each student's folder name "
                   "(default: the first of " + ", ".join(export.ROSTER_KEYS) + " present)")
    p.set_defaults(func=export.main)

    d = _defaults(feedback.main)
    p = sub.add_parser("feedback", help="write an HTML feedback page per submission")
    p.add_argument("--gradebook", default=d["gradebook"])
    p.add_argument("--out", default=d["out"], help="(default: %(default)s)")
    p.set_defaults(func=feedback.main)

    p = sub.add_parser("manual", help="grade answers by hand through a CSV file")
    msub = p.add_subparsers(dest="manual_command", required=True)
    d = _defaults(manual.export_main)
    q = msub.add_parser("export", help="one CSV row per answer still to grade by hand")
    q.add_argument("--gradebook", default=d["gradebook"])
    q.add_argument("-o", "--output", default=None, help="file to write (default: standard output)")
    q.add_argument("--all", action="store_true", help="also the answers already graded by hand, to change them")
    q.set_defaults(func=manual.export_main)
    d = _defaults(manual.import_main)
    q = msub.add_parser("import", help="record the points and comments filled in; all rows or none")
    q.add_argument("file", help="the CSV file from `grader manual export`, filled in")
    q.add_argument("--gradebook", default=d["gradebook"])
    q.set_defaults(func=manual.import_main)

    p = sub.add_parser("merge", help="combine the gradebooks of shards into one")
    p.add_argument("gradebooks", nargs="+", help="gradebooks written by grader grade --shard")
    p.add_argument("--out", required=True, help="the merged gradebook to write")
    p.set_defaults(func=merge.main)

    d = _defaults(report.main)
    p = sub.add_parser("report", help="a static HTML report of the class: statistics, problems, similar answers")
    p.add_argument("--gradebook", default=d["gradebook"])
    p.add_argument("--out", default=d["out"], help="(default: %(default)s)")
    p.add_argument("--feedback", default=None, help="link the pages `grader feedback --out DIR` wrote "
                   "(default: write them to OUT/feedback)")
    p.set_defaults(func=report.main)

    d = _defaults(demo.main)
    p = sub.add_parser("demo", help="run the course and grade a sample class, end to end")
    p.add_argument("--out", default=d["out"], help="(default: %(default)s)")
    p.add_argument("--students", type=int, default=d["students"], help="(default: %(default)s)")
    p.add_argument("--workers", type=int, default=None, help=f"(default: {workers_default})")
    p.set_defaults(func=demo.main)
    return parser


def main(argv: list[str] | None = None) -> int:
    args = vars(build_parser().parse_args(argv))
    func = args.pop("func")
    args.pop("command")
    args.pop("manual_command", None)
    return func(**args)


if __name__ == "__main__":
    sys.exit(main())
