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
    from . import demo, export, feedback, grade, release

    parser = argparse.ArgumentParser(prog="grader", description=__doc__.splitlines()[0])
    workers_default = (f"one per CPU, at most 4: {grade.default_workers()} here, and at most one per "
                       f"{grade.SUBMISSIONS_PER_WORKER} submissions")
    sub = parser.add_subparsers(dest="command", required=True)

    d = _defaults(release.main)
    p = sub.add_parser("release", help="write student versions of the exercises")
    p.add_argument("--source", default=d["source"], help="instructor exercises (default: %(default)s)")
    p.add_argument("--out", default=d["out"], help="where student versions go (default: %(default)s)")
    p.set_defaults(func=release.main)

    d = _defaults(grade.main)
    p = sub.add_parser("grade", help="grade SUBMISSIONS/<student>/<NN-name>.ipynb")
    p.add_argument("submissions", help="folder with one sub-folder per student")
    p.add_argument("--source", default=d["source"], help="instructor exercises (default: %(default)s)")
    p.add_argument("--gradebook", default=d["gradebook"], help="SQLite gradebook (default: %(default)s)")
    p.add_argument("--timeout", type=float, default=d["timeout"], help="seconds per cell (default: %(default)s)")
    p.add_argument("--workers", type=int, default=None, help="submissions graded at once, each with its own "
                   f"clusters (default: {workers_default})")
    p.add_argument("--engines", type=int, default=d["engines"], help="engines per cluster (default: %(default)s)")
    p.add_argument("--force", action="store_true", help="regrade submissions already graded and unchanged")
    p.add_argument("--student", default=None, help="grade only this student")
    p.add_argument("--quiet", action="store_true", help="no progress bar or summary")
    p.add_argument("--no-sandbox", dest="sandbox", action="store_false",
                   help="run student code unconfined (the sandbox needs root; see the threat model in README.md)")
    p.add_argument("--memory", type=parse_size, default=d["memory"], help="memory of all the processes of one "
                   "submission together, e.g. 2G (default: %s)" % _size(d["memory"]))
    p.add_argument("--max-procs", type=int, default=d["max_procs"], help="processes and threads of one submission "
                   "together (default: %(default)s)")
    p.add_argument("--tmp-size", dest="tmp_bytes", type=parse_size, default=d["tmp_bytes"],
                   help="bytes a submission may keep in /tmp (default: %s)" % _size(d["tmp_bytes"]))
    p.add_argument("--work-size", dest="work_bytes", type=parse_size, default=d["work_bytes"],
                   help="bytes a submission may keep in its working directory (default: %s)" % _size(d["work_bytes"]))
    p.add_argument("--max-bytes", type=int, default=d["max_bytes"], help="largest notebook file accepted "
                   "(default: %(default)s)")
    p.set_defaults(func=grade.main)

    d = _defaults(export.main)
    p = sub.add_parser("export", help="write scores as CSV or JSON")
    p.add_argument("--gradebook", default=d["gradebook"])
    p.add_argument("--format", choices=["csv", "json"], default=d["format"])
    p.add_argument("--level", choices=["test", "exercise", "student"], default=d["level"])
    p.add_argument("-o", "--output", default=None, help="file to write (default: standard output)")
    p.set_defaults(func=export.main)

    d = _defaults(feedback.main)
    p = sub.add_parser("feedback", help="write an HTML feedback page per submission")
    p.add_argument("--gradebook", default=d["gradebook"])
    p.add_argument("--out", default=d["out"], help="(default: %(default)s)")
    p.set_defaults(func=feedback.main)

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
    return func(**args)


if __name__ == "__main__":
    sys.exit(main())
