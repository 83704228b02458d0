"""A gradebook of a small class for the report's tests, written by recording results directly (no cluster)."""

from __future__ import annotations

from pathlib import Path

import nbformat

from grader.gradebook import Gradebook
from grader.results import BY_HAND, PENDING, SubmissionResult, TestResult
from support.builders import exercise, meta

SCRIPT = "<script>alert(1)</script>"


STUDENTS = ["alice", "bob", "carol", "dave", "erin", SCRIPT]


SETUP = "import numpy as np"


# Exercise 01-squares, question q1: alice's answer, bob's copy of it (renamed, comments and layout changed),
# three genuinely different answers, and the stub as released.
SCAFFOLD = "def sum_even_squares(values):\n{body}\n\nresult = sum_even_squares([1, 2, 3, 4])\nresult"


ALICE = """\
    total = 0
    for value in values:
        if value % 2 == 0:
            total += value * value
    return total"""


BOB = """\
    # add up the squares of the even ones
    acc=0
    for v   in values:   # every value
        if v%2==0:

            acc += v*v
    return acc"""


CAROL = "    return sum(v * v for v in values if v % 2 == 0)"


DAVE = """\
    arr = np.asarray(values)
    evens = arr[arr % 2 == 0]
    return int((evens ** 2).sum())"""


ERIN = """\
    i, s = 0, 0
    while i < len(values):
        if not values[i] & 1:
            s = s + values[i] ** 2
        i += 1
    return s"""


STUB = "    # YOUR CODE HERE\n    raise NotImplementedError()"


# Exercise ps1/problems (an nbgrader assignment), question mean: all different, one too short to compare.
MEAN = {
    "alice": "def mean(xs):\n    return sum(xs) / len(xs)",
    "bob": ("def mean(xs):\n    n = 0\n    total = 0.0\n    for x in xs:\n        n += 1\n        total += x\n"
            "    return total / n"),
    "carol": "def mean(xs):\n    import statistics\n    return statistics.fmean(list(xs))",
    "erin": "mean = np.mean",
    SCRIPT: ("def mean(xs):\n    arr = np.array(xs, dtype=float)\n"
             "    return float(arr.sum() / arr.size) if arr.size else 0.0"),
}


ANSWER_MD = {"alice": "Squares grow fast.", "bob": "Because of the loop.", "carol": "Even squares.",
             "dave": "No idea", "erin": "YOUR ANSWER HERE", SCRIPT: "It <b>adds</b> them."}


Q1 = {"alice": ALICE, "bob": BOB, "carol": CAROL, "dave": DAVE, "erin": ERIN, SCRIPT: STUB}


def squares_nb(student: str):
    return exercise([
        ("md", "# Squares", meta("intro", locked=True)),
        ("code", SETUP, meta("setup", locked=True)),
        ("code", SCAFFOLD.format(body=Q1[student]), meta("q1", solution=True)),
        ("code", "assert result == 20, f'expected 20, got {result}'", meta("q1-test", grade=True, locked=True,
                                                                          points=2)),
        ("code", "assert True\n### BEGIN HIDDEN TESTS\nassert sum_even_squares([6]) == 36, 'HIDDEN-CODE'\n"
                 "### END HIDDEN TESTS", meta("q1-hidden", grade=True, locked=True, points=1)),
        ("md", ANSWER_MD[student], meta("q2", solution=True, grade=True, points=2)),
    ])


def mean_nb(student: str):
    return exercise([
        ("code", SETUP, meta("setup", locked=True)),
        ("code", MEAN[student], meta("mean", solution=True)),
        ("code", "assert mean([1, 2, 3]) == 2", meta("mean-test", grade=True, locked=True, points=3)),
    ])


def squares_result(student: str) -> SubmissionResult:
    """q1-test: passed by alice, bob, carol (3/6: mean 1, median 1); q1-hidden likewise, the stub timing out;
    q2 (by hand): alice 2, bob 1, erin no answer (graded 3/6, mean 1), the others pending."""
    passed = student in ("alice", "bob", "carol")
    got = {"dave": 3, "erin": 4}
    if passed:
        q1 = TestResult("q1-test", 2, 2, "passed")
        hidden = TestResult("q1-hidden", 1, 1, "passed", hidden=True)
    elif student in got:
        q1 = TestResult("q1-test", 0, 2, "failed", f"AssertionError: expected 20, got {got[student]}")
        hidden = TestResult("q1-hidden", 0, 1, "failed", "AssertionError: HIDDEN-MESSAGE", hidden=True)
    else:
        q1 = TestResult("q1-test", 0, 2, "failed", "NotImplementedError: ")
        hidden = TestResult("q1-hidden", 0, 1, "timeout", "the cell ran for more than 60 s and was stopped",
                            hidden=True)
    manual = {"alice": (2, BY_HAND), "bob": (1, BY_HAND), "erin": (0, "no-answer")}
    points, status = manual.get(student, (0, PENDING))
    q2 = TestResult("q2", points, 2, status, kind="manual", answer=ANSWER_MD[student])
    r = SubmissionResult(student, "01-squares", f"submissions/{student}/01-squares.ipynb", "c" * 64,
                         tests=[q1, hidden, q2], max_points=5, started="2026-01-10T10:00:00+00:00",
                         finished="2026-01-10T10:00:05+00:00")
    if student == "alice":  # two days late: 2 x 10% of 5 points
        r.submitted_at, r.due, r.late_policy = "2026-01-12T09:00:00+00:00", "2026-01-10T12:00:00+00:00", "per-day:10"
    if student == "bob":
        r.flags = ["locked cell 'q1-test' was changed and has been restored"]
    return r


def mean_result(student: str) -> SubmissionResult:
    r = SubmissionResult(student, "problems", f"submitted/{student}/ps1/problems.ipynb", "d" * 64, max_points=3,
                         assignment="ps1", started="2026-01-10T10:00:00+00:00", finished="2026-01-10T10:00:05+00:00")
    if student == "dave":
        r.status, r.message = "error", "problems.ipynb: not a notebook (it is not JSON); submit the .ipynb file"
        return r
    ok = student != "carol"
    r.tests = [TestResult("mean-test", 3 if ok else 0, 3, "passed" if ok else "not-run")]
    if not ok:
        r.message = "the kernel died while running cell 2 (out of memory?); the cells after it were not run"
    return r


def make_gradebook(path: Path) -> Path:
    """The class: 6 students x 2 exercises, recorded as grading would record them."""
    with Gradebook(path) as book:
        for student in STUDENTS:
            book.record(squares_result(student), executed_nb=nbformat.writes(squares_nb(student)))
            r = mean_result(student)
            book.record(r, executed_nb=None if r.status == "error" else nbformat.writes(mean_nb(student)))
    return path


def report_pages(out: Path) -> list[Path]:
    return sorted(out.glob("*.html")) + sorted((out / "similar").glob("*.html"))
