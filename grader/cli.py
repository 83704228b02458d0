"""``grader``: release exercises, grade a class against a 4-engine cluster, export grades, write feedback.

Exit codes: 0 done, 1 something failed to grade or run, 2 usage error.
"""

from __future__ import annotations

import argparse
import inspect
import sys


def _defaults(func) -> dict:
    return {k: p.default for k, p in inspect.signature(func).parameters.items() if p.default is not p.empty}


def build_parser() -> argparse.ArgumentParser:
    from . import book, demo, export, feedback, grade, local, manual, merge, options, publish, release, report

    parser = argparse.ArgumentParser(prog="grader", description=__doc__.splitlines()[0])
    workers_default = (f"one per CPU, as many as memory holds, and at most one per {local.SUBMISSIONS_PER_WORKER} "
                       f"submissions: here {local.default_workers().reason}")
    sub = parser.add_subparsers(dest="command", required=True)

    d = _defaults(release.main)
    p = sub.add_parser("release", help="write student versions of the exercises")
    p.add_argument("course", nargs="?", default=None, help="an nbgrader course directory: release "
                   "source/<assignment>/ to release/<assignment>/ as nbgrader does (default: the flat --source)")
    p.add_argument("--assignment", default=None, help="only this assignment of the nbgrader course")
    p.add_argument("--source", default=d["source"], help="instructor exercises (default: %(default)s)")
    p.add_argument("--out", default=d["out"], help="where student versions go (default: %(default)s)")
    p.set_defaults(func=release.main)

    p = sub.add_parser("publish", help="write the student repository's tree (lessons, released exercises, binder/): "
                       "what the launch links of course/launch.toml pull")
    p.add_argument("out", help="the folder to write (a clone of the student repository: its .git is kept)")
    p.add_argument("--source", default=str(publish.ROOT / "exercises"), help="instructor exercises "
                   "(default: this clone's exercises/)")
    p.set_defaults(func=publish.main)

    p = sub.add_parser("grade", help="grade SUBMISSIONS/<student>/<NN-name>.ipynb, or an nbgrader course as it is")
    p.add_argument("submissions", metavar="SUBMISSIONS|COURSE", help="a folder with one sub-folder per student, "
                   "or an nbgrader course directory (source/<assignment>/ and submitted/<student>/<assignment>/)")
    options.add_arguments(p)  # every option of a grading run, with its help text, from grader.options
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

    p = sub.add_parser("book", help="build the course's documentation site (Sphinx, works offline): the docs, "
                       "every lesson with its exercise and launch links")
    p.add_argument("out", help="the folder to write the site to (OUT/index.html)")
    p.add_argument("--execute", action="store_true", help="first run every lesson against the course's 4-engine "
                   "cluster and the n-gram mirror (default: the lessons as stored)")
    p.set_defaults(func=book.main)

    d = _defaults(demo.main)
    p = sub.add_parser("demo", help="run the course and grade a sample class, end to end")
    p.add_argument("--out", default=d["out"], help="(default: %(default)s)")
    p.add_argument("--students", type=int, default=None, help=f"(default: {demo.FIRST_STUDENTS}, with --full "
                   f"{demo.FULL_STUDENTS})")
    p.add_argument("--full", action="store_true", help="every lesson, and a class of every shortcut student of every "
                   "exercise (default: three lessons and their exercises, a small class: the whole loop quickly)")
    p.add_argument("--workers", type=int, default=None, help=f"(default: {workers_default})")
    p.set_defaults(func=demo.main)
    return parser


def main(argv: list[str] | None = None) -> int:
    from course.startup import skip_slow_format_checkers

    skip_slow_format_checkers()  # before the first import of nbformat (build_parser imports the commands)
    args = vars(build_parser().parse_args(argv))
    func = args.pop("func")
    args.pop("command")
    args.pop("manual_command", None)
    return func(**args)


if __name__ == "__main__":
    sys.exit(main())
