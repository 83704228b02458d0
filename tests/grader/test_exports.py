"""Exports an LMS imports as they are (Canvas's gradebook CSV, Gradescope's results.json), and progress that
suits its output (a bar on a terminal, a line per item in a log)."""

from __future__ import annotations

import csv
import io
import json
import os
import pty
import select

import pytest

from grader import export
from grader.gradebook import Gradebook
from grader.progress import Progress
from grader.results import PENDING, SubmissionResult, TestResult

# Gradescope's published schema (gradescope/autograder_samples docs/specs.md): the keys a test may have
GRADESCOPE_TEST_KEYS = {"score", "max_score", "status", "name", "name_format", "number", "output", "output_format",
                        "tags", "visibility", "extra_data"}
GRADESCOPE_TOP_KEYS = {"score", "execution_time", "output", "output_format", "test_output_format", "test_name_format",
                       "visibility", "stdout_visibility", "extra_data", "tests", "leaderboard"}


def result(student, exercise, points, possible=10.0, assignment="", **kw):
    return SubmissionResult(student, exercise, "p", "sum", [TestResult("q1", points, possible, "passed" if points ==
                                                                       possible else "failed")],
                            max_points=possible, assignment=assignment, **kw)


@pytest.fixture
def book(tmp_path):
    path = tmp_path / "g.sqlite"
    with Gradebook(path) as gb:
        gb.record(result("ann", "01-start", 10))
        gb.record(result("ann", "02-views", 7))
        gb.record(result("=bob", "01-start", 4))  # a folder name that would be a formula
        gb.record(result("cid", "01-start", 8, submitted_at="2026-01-10T14:00:00+00:00",
                         due="2026-01-10T12:00:00+00:00", late_policy="per-hour:10"))
        gb.record(result("zed", "01-start", 9))  # not on the roster
    return path


ROSTER = """Student,ID,SIS User ID,SIS Login ID,Section,01-start (901),Current Score
    Points Possible,,,,,10,
"Lovelace, Ann",11,s11,ann,Parallel 1,,
"Bob, =HYPERLINK(""http://x"")",12,s12,=bob,Parallel 1,,
"Cid, C",13,s13,cid,Parallel 2,,
"Dee, D",14,s14,dee,Parallel 2,,
"""


def canvas(book, tmp_path, capsys, roster=ROSTER, key=None):
    (tmp_path / "roster.csv").write_text(roster)
    assert export.main(gradebook=book, format="canvas", roster=tmp_path / "roster.csv", roster_key=key,
                       output=tmp_path / "canvas.csv") == 0
    return list(csv.reader(io.StringIO((tmp_path / "canvas.csv").read_text()))), capsys.readouterr().err


def test_canvas_csv_has_the_columns_its_importer_accepts_and_maps_students_by_the_roster(book, tmp_path, capsys):
    table, err = canvas(book, tmp_path, capsys)
    header, points_possible, *students = table
    assert header == ["Student", "ID", "SIS User ID", "SIS Login ID", "Section", "01-start (901)", "02-views"]
    assert points_possible == ["Points Possible", "", "", "", "", "10", "10"]
    by_login = {row[3]: row for row in students}
    assert by_login["ann"][5:] == ["10", "7"]
    assert by_login["cid"][5:] == ["6", ""]  # 2 hours late at 10% of 10 points an hour: 8 - 2
    assert by_login["dee"][5:] == ["", ""]  # on the roster, nothing graded: blank, which Canvas leaves alone
    bob = by_login["'=bob"]
    assert bob[0] == 'Bob, =HYPERLINK("http://x")'  # not at the start of the cell: no formula, left as it is
    assert bob[5] == "4"
    assert all(not cell.startswith(("=", "+", "@")) for row in table for cell in row)
    assert "zed" in err and "not in the roster" in err  # reported, not dropped silently
    assert "dee" in err and "no graded submission" in err
    assert "new assignments: 02-views" in err


def test_a_roster_without_a_column_for_the_folders_is_a_clear_error(book, tmp_path, capsys):
    (tmp_path / "roster.csv").write_text("Name,Email\nAnn,ann@example.org\n")
    assert export.main(gradebook=book, format="canvas", roster=tmp_path / "roster.csv") == 2
    assert "--roster-key" in capsys.readouterr().err
    assert export.main(gradebook=book, format="canvas") == 2
    assert "needs --roster" in capsys.readouterr().err


def test_gradescope_results_follow_the_schema_and_hide_what_holds_hidden_tests(tmp_path):
    r = SubmissionResult("ann", "problem1", "p", "sum", [
        TestResult("public", 2.0, 2.0, "passed"),
        TestResult("with-hidden", 0.0, 3.0, "failed", "AssertionError: no", hidden=True),
        TestResult("essay", 0.0, 4.0, PENDING, kind="manual", answer="..."),
    ], max_points=9, assignment="ps1", submitted_at="2026-01-11T12:00:00+00:00", due="2026-01-10T12:00:00+00:00",
        late_policy="per-day:50")
    data = export.gradescope_results(r)
    assert set(data) <= GRADESCOPE_TOP_KEYS
    assert all(set(t) <= GRADESCOPE_TEST_KEYS for t in data["tests"])
    assert [(t["name"], t["status"], t["visibility"]) for t in data["tests"]] == [
        ("public", "passed", "visible"), ("with-hidden", "failed", "after_published"),
        ("essay", "failed", "after_published")]
    assert data["score"] == 0 and "late penalty: -2" in data["output"]  # 2 - 50% of 9 per day, not below 0
    assert all(t["output_format"] in ("text", "html", "simple_format", "md", "ansi") for t in data["tests"])
    json.dumps(data)


def _read_all(fd: int) -> str:
    """Everything written to the pty so far: a pty hands it out one write at a time."""
    chunks = []
    while select.select([fd], [], [], 0.5)[0]:
        chunks.append(os.read(fd, 65536))
    return b"".join(chunks).decode()


def test_progress_is_a_bar_on_a_terminal_and_a_line_per_item_otherwise():
    log = io.StringIO()
    with Progress(3, "grading", stream=log) as bar:
        for name in ("ann", "bob", "cid"):
            bar.update(name)
    assert log.getvalue().splitlines() == ["grading 1/3: ann", "grading 2/3: bob", "grading 3/3: cid"]
    assert "\r" not in log.getvalue()
    quiet = io.StringIO()
    with Progress(3, "grading", stream=quiet, quiet=True) as bar:
        bar.update("ann")
    assert quiet.getvalue() == ""
    parent, child = pty.openpty()
    try:
        with os.fdopen(child, "w", closefd=False) as tty:
            with Progress(2, "grading", stream=tty) as bar:
                bar.update("ann")
                bar.update("bob")
            tty.flush()
        shown = _read_all(parent)
        assert "\r" in shown and "2/2" in shown and "grading 1/2: ann\n" not in shown
    finally:
        os.close(parent)
        os.close(child)
