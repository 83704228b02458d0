"""``grader report``: a static HTML report on a graded class, written to ``OUT/index.html``.

Everything the report links to is inside ``OUT`` (or the feedback folder), so it opens from disk with no
server and loads nothing from the network:

- ``index.html``: per exercise its mean, median and share of full marks, the hardest tests of the class, the
  submissions to look at (not graded, not submitted, timeouts, runs that ended badly, late penalties, flags),
  near-identical answers, and a table of every student's totals (sortable by clicking a column header);
- ``by-score.html``: the same student table sorted by final score (works without JavaScript);
- ``exercise-<n>.html``: an exercise's score distribution and, per test, its distribution, mean, median, share
  passed (answers graded by hand: share graded and pending) and most common failure messages;
- ``similar/<n>.html``: two near-identical answers side by side, the matching lines highlighted;
- ``figures/*.png``: the distributions (matplotlib, Agg);
- ``feedback/``: each submission's feedback page (``grader feedback``), unless ``--feedback DIR`` names pages
  written already, which are then linked where they are.

Near-identical answers are found per question (the solution cells with the same grade_id across the students of
one exercise) with copydetect's winnowing fingerprints: the source is tokenised by pygments with names, strings
and comments normalised and whitespace dropped, so renamed variables, removed comments and reformatting do not
hide a copy, and two answers are paired when each shares at least ``THRESHOLD`` of its fingerprints with the
other.  Fingerprints that more than half the class share (the scaffolding of the question, the one way everyone
writes a one-liner) are ignored, as are answers left as released and answers too short to fingerprint.

Student names, messages and answers come from submissions: all of it is HTML-escaped (Jinja's autoescape, in
text and attributes; links are percent-encoded paths), and every page starts with the Content-Security-Policy of
:func:`course.safe_html.csp_meta`, which allows no script but the student table's sorting code, by its hash.
The report shows test messages (already cut to ``ename: evalue``), never a test cell's code.
"""

from __future__ import annotations

import os
import re
import statistics
import sys
from collections import Counter, defaultdict
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from urllib.parse import quote

import jinja2
from markupsafe import Markup

from course.safe_html import csp_meta

from .gradebook import Gradebook, GradebookError
from .results import BY_HAND, NOT_SUBMITTED, PENDING, SubmissionResult
from .similar import THRESHOLD, Answer, K, answers, similar_pairs

HARDEST = 10  # tests listed as the hardest of the class
TOP_FAILURES = 5  # failure messages listed per test
GRADED_BY_HAND = (BY_HAND, "no-answer", NOT_SUBMITTED)  # scored (a notebook not submitted: 0, as nbgrader has it)


# -- statistics ---------------------------------------------------------------------------------------------

def normalise_message(message: str, status: str = "") -> str:
    """A failure message with the details that differ between students blanked, so that the same failure
    groups: addresses -> ``0x…``, numbers -> ``N``, whitespace collapsed, cut to 300 characters."""
    text = (message or "").strip()
    if not text:
        return f"({status or 'failed'}, no message)"
    text = re.sub(r"0x[0-9a-fA-F]+", "0x…", text)
    text = re.sub(r"(?<![\w.])[-+]?\d+(?:\.\d+)?(?:[eE][-+]?\d+)?(?![\w])", "N", text)
    text = re.sub(r"\s+", " ", text)
    return text if len(text) <= 300 else text[:299] + "…"


@dataclass
class TestStats:
    __test__ = False

    number: int  # its anchor on the exercise page: #t-<number>
    name: str
    kind: str  # auto | manual | task
    max_points: float
    submissions: int  # submissions of the exercise (error rows included: they score 0 and pass nothing)
    values: list[float]  # the points counted in mean/median (every submission; by hand: those graded)
    passed: int = 0
    graded: int = 0  # by hand: graded (or no answer)
    pending: int = 0  # by hand: still to grade
    hidden: bool = False
    failures: list[tuple[str, int, str]] = field(default_factory=list)  # (normalised, students, an example)
    figure: str = ""  # figures/<file>.png, or "" when there is nothing to draw

    @property
    def by_hand(self) -> bool:
        return self.kind != "auto"

    @property
    def mean(self) -> float | None:
        return statistics.fmean(self.values) if self.values else None

    @property
    def median(self) -> float | None:
        return statistics.median(self.values) if self.values else None

    @property
    def pass_share(self) -> float:
        return self.passed / self.submissions if self.submissions else 0.0

    @property
    def graded_share(self) -> float:
        return self.graded / self.submissions if self.submissions else 0.0

    @property
    def pending_share(self) -> float:
        return self.pending / self.submissions if self.submissions else 0.0


@dataclass
class ExerciseStats:
    number: int  # exercise-<number>.html
    key: str
    results: list[SubmissionResult]
    tests: list[TestStats]
    figure: str = ""

    @property
    def totals(self) -> list[float]:
        return [r.total for r in self.results]

    @property
    def possible(self) -> float:
        return max((r.possible for r in self.results), default=0.0)

    @property
    def mean(self) -> float | None:
        return statistics.fmean(self.totals) if self.results else None

    @property
    def median(self) -> float | None:
        return statistics.median(self.totals) if self.results else None

    @property
    def mean_final(self) -> float | None:
        return statistics.fmean(r.final for r in self.results) if self.results else None

    @property
    def errors(self) -> int:
        return sum(r.status == "error" for r in self.results)

    @property
    def not_submitted(self) -> int:
        return sum(r.status == NOT_SUBMITTED for r in self.results)

    @property
    def all_passed_share(self) -> float:
        """Share of the submissions that passed every autograded test."""
        auto = [t.name for t in self.tests if not t.by_hand]
        ok = 0
        for r in self.results:
            status = {t.test: t.status for t in r.tests}
            ok += r.status == "graded" and all(status.get(name) == "passed" for name in auto)
        return ok / len(self.results) if self.results else 0.0

    @property
    def pending_answers(self) -> int:
        return sum(len(r.pending) for r in self.results)


def exercise_stats(results: list[SubmissionResult]) -> list[ExerciseStats]:
    """Per exercise (a result's ``key``), in key order, its submissions and per-test statistics."""
    by_key: dict[str, list[SubmissionResult]] = defaultdict(list)
    for r in results:
        by_key[r.key].append(r)
    out = []
    for number, key in enumerate(sorted(by_key), start=1):
        subs = sorted(by_key[key], key=lambda r: r.student)
        order: dict[str, None] = {}
        for r in subs:
            for test in r.tests:
                order.setdefault(test.test)
        tests = []
        for j, name in enumerate(order, start=1):
            found = [(r, next((t for t in r.tests if t.test == name), None)) for r in subs]
            present = [t for _, t in found if t is not None]
            kind = Counter(t.kind for t in present).most_common(1)[0][0]
            stats = TestStats(j, name, kind, max(t.max_points for t in present), len(subs), [],
                              hidden=any(t.hidden for t in present))
            failures: dict[str, list[str]] = defaultdict(list)  # normalised -> original messages
            for _r, t in found:
                if stats.by_hand:
                    if t is not None and t.status in GRADED_BY_HAND:
                        stats.graded += 1
                        stats.values.append(t.points)
                    elif t is not None and t.status == PENDING:
                        stats.pending += 1
                    continue
                stats.values.append(t.points if t is not None else 0.0)
                if t is not None and t.status == "passed":
                    stats.passed += 1
                elif t is not None:
                    failures[normalise_message(t.message, t.status)].append(t.message or f"({t.status})")
            stats.failures = sorted(((text, len(msgs), msgs[0]) for text, msgs in failures.items()),
                                    key=lambda f: (-f[1], f[0]))[:TOP_FAILURES]
            tests.append(stats)
        out.append(ExerciseStats(number, key, subs, tests))
    return out


def hardest_tests(exercises: list[ExerciseStats], n: int = HARDEST) -> list[tuple[ExerciseStats, TestStats]]:
    """The autograded tests with the lowest pass rates across the class (ties: the lower mean share of points)."""
    tests = [(e, t) for e in exercises for t in e.tests if not t.by_hand and t.submissions]
    tests.sort(key=lambda et: (et[1].pass_share, (et[1].mean or 0.0) / (et[1].max_points or 1), et[0].key,
                               et[1].number))
    return [et for et in tests if et[1].pass_share < 1][:n]


# -- similar answers -----------------------------------------------------------------------------------------


# -- figures ---------------------------------------------------------------------------------------------------

def distribution_png(values: list[float], maximum: float, title: str, path: Path) -> None:
    """A bar chart of how many submissions got each score (a histogram when scores take many values)."""
    from matplotlib.figure import Figure
    from matplotlib.ticker import MaxNLocator

    fig = Figure(figsize=(5.0, 2.8), dpi=100, layout="constrained")
    ax = fig.subplots()
    distinct = sorted(set(values))
    if len(distinct) <= 12:
        counts = Counter(values)
        width = max(maximum, max(distinct, default=0), 1) / 25
        ax.bar(distinct, [counts[v] for v in distinct], width=width, color="#4878a8")
        ax.set_xticks(distinct, [f"{v:g}" for v in distinct])
    else:
        top = max(maximum, max(values))
        ax.hist(values, bins=min(20, max(5, len(distinct))), range=(0, top or 1), color="#4878a8",
                edgecolor="white")
    ax.set_xlim(-max(maximum, 1) * 0.08, max(maximum, max(distinct, default=0), 1) * 1.08)
    ax.set_title(title, fontsize=10)
    ax.set_xlabel(f"points (of {maximum:g})")
    ax.set_ylabel("submissions")
    locator = ax.yaxis.get_major_locator()
    if isinstance(locator, MaxNLocator):  # always: the default locator, an AutoLocator, is one
        locator.set_params(integer=True)
    ax.grid(axis="y", alpha=0.3)
    path.parent.mkdir(parents=True, exist_ok=True)
    fig.savefig(path, format="png")


# -- pages -------------------------------------------------------------------------------------------------------

def feedback_page(folder: Path, r: SubmissionResult) -> Path:
    """Where ``grader feedback --out folder`` writes the page of ``r``."""
    return (folder / r.student / r.assignment if r.assignment else folder / r.student) / f"{r.exercise}.html"


def href(target: Path, page: Path) -> str:
    """``target`` relative to the folder of ``page``, percent-encoded (names may hold ``#``, ``?``, ``<``...)."""
    return quote(os.path.relpath(target, page.parent).replace(os.sep, "/"))


def _num(x) -> str:
    if x is None:
        return "–"
    return f"{x:.2f}".rstrip("0").rstrip(".") if isinstance(x, float) else str(x)


def _pct(x: float) -> str:
    return f"{100 * x:.0f}%"


TEMPLATES = Path(__file__).parent / "templates" / "report"  # jinja2 templates, the CSS and the sort script
CSS = (TEMPLATES / "report.css").read_text()
SORT_JS = (TEMPLATES / "sort.js").read_text()  # the one script of the pages (its hash is in their CSP)


def _env() -> jinja2.Environment:
    env = jinja2.Environment(loader=jinja2.FileSystemLoader(TEMPLATES), autoescape=True,
                             undefined=jinja2.StrictUndefined)
    env.globals.update(num=_num, pct=_pct, css=Markup(CSS), js=Markup(SORT_JS),  # our own code, not escaped
                       csp_meta=lambda scripts: Markup(csp_meta(scripts)))  # the page's policy: js by its hash
    return env


def _highlight(answer: Answer, lines: list[int]) -> tuple[Markup, str]:
    """The answer as pygments HTML (escaped by pygments) and the CSS it needs."""
    from pygments import highlight
    from pygments.formatters import HtmlFormatter
    from pygments.lexers import PythonLexer, TextLexer

    formatter = HtmlFormatter(cssclass="hl", linenos="inline", hl_lines=lines, wrapcode=True)
    lexer = PythonLexer() if answer.cell_type == "code" else TextLexer()
    return Markup(highlight(answer.source, lexer, formatter)), formatter.get_style_defs(".hl")


def _student_rows(results: list[SubmissionResult], link) -> list[dict]:
    rows: dict[str, dict] = {}
    for r in results:
        row = rows.setdefault(r.student, {"student": r.student, "total": 0.0, "possible": 0.0, "pending": 0.0,
                                          "penalty": 0.0, "final": 0.0, "errors": 0, "not_submitted": 0,
                                          "links": []})
        row["total"] += r.total
        row["possible"] += r.possible
        row["pending"] += r.pending_points
        row["penalty"] += r.penalty
        row["final"] += r.final
        row["errors"] += r.status == "error"
        row["not_submitted"] += r.status == NOT_SUBMITTED
        row["links"].append((r.key, link(r)))
    for row in rows.values():
        for k in ("total", "possible", "pending", "penalty", "final"):
            row[k] = round(row[k], 6)
    return sorted(rows.values(), key=lambda row: row["student"])


def _attention(results: list[SubmissionResult], link) -> list[dict]:
    def row(r, *cells):
        return {"student": r.student, "key": r.key, "link": link(r), "cells": [str(c) for c in cells]}

    errors = [row(r, r.message) for r in results if r.status == "error"]
    missing = [row(r, f"0 of {_num(r.possible)}") for r in results if r.status == NOT_SUBMITTED]
    timeouts = [row(r, t.test, t.message) for r in results for t in r.tests if t.status == "timeout"]
    crashes = [row(r, r.message) for r in results if r.status == "graded" and r.message]
    late = [row(r, f"{r.late_by / 3600:.1f} h", f"-{_num(r.penalty)} of {_num(r.total)}", r.late_policy)
            for r in results if r.penalty > 0]
    flags = [row(r, "\n".join(r.flags)) for r in results if r.flags]
    return [
        {"id": "errors", "title": "Not graded (errors)", "columns": ["why"], "rows": errors},
        {"id": "not-submitted", "title": "Not submitted (a notebook missing from an assignment handed in)",
         "columns": ["points"], "rows": missing},
        {"id": "timeouts", "title": "Tests that timed out", "columns": ["test", "message"], "rows": timeouts},
        {"id": "crashes", "title": "Runs that ended badly (kernel died, cut short...)",
         "columns": ["how the run ended"], "rows": crashes},
        {"id": "late", "title": "Late penalties", "columns": ["late by", "penalty", "policy"], "rows": late},
        {"id": "flags", "title": "Flags", "columns": ["flags"], "rows": flags},
    ]


def _clear(folder: Path, pattern: str) -> None:
    """Remove what an earlier report wrote there (its own files only)."""
    if folder.is_dir():
        for old in folder.glob(pattern):
            if old.is_file() and not old.is_symlink():
                old.unlink()


def build(book: Gradebook, out: Path, feedback_dir: Path, *, gradebook_name: str = "") -> dict:
    """Write the report to ``out`` linking feedback pages under ``feedback_dir``; returns counts of what it wrote."""
    out.mkdir(parents=True, exist_ok=True)
    (out / "figures").mkdir(exist_ok=True)
    (out / "similar").mkdir(exist_ok=True)
    _clear(out / "figures", "*.png")
    _clear(out / "similar", "*.html")
    results = book.submissions()
    exercises = exercise_stats(results)
    for e in exercises:
        if e.results:
            e.figure = f"figures/exercise-{e.number}.png"
            distribution_png(e.totals, e.possible, f"{e.key}: total points", out / e.figure)
        for t in e.tests:
            if t.values:
                t.figure = f"figures/exercise-{e.number}-test-{t.number}.png"
                distribution_png(t.values, t.max_points, f"{e.key}: {t.name}", out / t.figure)
    pairs = similar_pairs(answers(book, results))

    env = _env()
    common = {"gradebook": gradebook_name or str(book.path), "extra_css": "", "sortable": False,
              "when": datetime.now(UTC).strftime("%Y-%m-%d %H:%M UTC")}
    missing = []

    def linker(page: Path):
        def link(r: SubmissionResult) -> str | None:
            target = feedback_page(feedback_dir, r)
            if not target.is_file():
                missing.append(target)
                return None
            return href(target, page)
        return link

    def write(page: Path, template: str, **context) -> None:
        page.parent.mkdir(parents=True, exist_ok=True)
        root = "" if page.parent == out else "../"
        page.write_text(env.get_template(template).render(**common | {"root": root} | context), encoding="utf-8")

    index = out / "index.html"
    link = linker(index)
    rows = _student_rows(results, link)
    write(index, "index.html", title="Class report", exercises=exercises, hardest=hardest_tests(exercises),
          attention=_attention(results, link), pairs=pairs, threshold=THRESHOLD, k=K, student_rows=rows,
          n_students=len(rows), n_submissions=len(results), sortable=True)
    by_score = sorted(rows, key=lambda row: (-row["final"], row["student"]))
    write(out / "by-score.html", "by-score.html", title="Students by final score", student_rows=by_score,
          sortable=True)
    for e in exercises:
        write(out / f"exercise-{e.number}.html", "exercise.html", title=f"Exercise {e.key}", e=e)
    for p in pairs:
        page = out / "similar" / f"{p.number}.html"
        link = linker(page)
        sides, style = [], ""
        for answer, lines in ((p.a, p.lines[0]), (p.b, p.lines[1])):
            code, style = _highlight(answer, lines)
            sides.append({"answer": answer, "html": code, "link": link(answer.result)})
        write(page, "similar.html", title=f"Similar answers: {p.key}, {p.question}", p=p, sides=sides,
              extra_css=Markup(style))
    if missing:
        print(f"grader report: {len(set(missing))} feedback page(s) are missing under {feedback_dir} (for example "
              f"{sorted(set(missing))[0]}); they are not linked. Run `grader feedback --out {feedback_dir}` first",
              file=sys.stderr)
    return {"exercises": len(exercises), "submissions": len(results), "students": len(rows), "pairs": len(pairs),
            "figures": sum(bool(e.figure) + sum(bool(t.figure) for t in e.tests) for e in exercises)}


def main(*, gradebook: str | Path = "gradebook.sqlite", out: str | Path = "report",
         feedback: str | Path | None = None) -> int:
    if not Path(gradebook).is_file():
        print(f"grader report: {gradebook}: no gradebook here; run `grader grade` first or pass --gradebook",
              file=sys.stderr)
        return 2
    out = Path(out)
    if feedback is not None and not Path(feedback).is_dir():
        print(f"grader report: {feedback}: no feedback folder here; run `grader feedback --out {feedback}` first, "
              "or leave out --feedback and the report writes the pages itself", file=sys.stderr)
        return 2
    try:
        Gradebook(gradebook).close()
    except GradebookError as e:
        print(f"grader report: {e}", file=sys.stderr)
        return 2
    if feedback is None:
        from . import feedback as feedback_module

        feedback = out / "feedback"
        code = feedback_module.main(gradebook=gradebook, out=feedback, quiet=True)
        if code:
            return code
    with Gradebook(gradebook) as book:
        counts = build(book, out, Path(feedback), gradebook_name=str(gradebook))
    print(f"wrote the report to {out / 'index.html'}: {counts['exercises']} exercise(s), {counts['students']} "
          f"student(s), {counts['figures']} figure(s), {counts['pairs']} pair(s) of similar answers")
    return 0
