"""Fast tests of what an nbgrader course needs beyond tests: answers graded by hand, late penalties, metadata
that differs only in spelling, CSV safety, and the gradebook that keeps scores given by hand."""

from __future__ import annotations

import copy
import csv
import io
import sqlite3

import nbformat
import pytest
from nbformat.v4 import new_markdown_cell, new_output

from grader import export, manual
from grader.exercise import load_exercise
from grader.gradebook import Gradebook
from grader.late import LateError, LatePolicy, late_seconds, parse_time
from grader.preprocessors.restore_tests import RestoreTests
from grader.preprocessors.score_tests import ScoreTests
from grader.release import student_version
from grader.results import BY_HAND, PENDING, SubmissionResult, TestResult
from grader.state import Reply, state_of
from support.builders import exercise, meta


def course_notebook():
    """An nbgrader notebook of the usual kind: a test, a markdown and a code answer graded by hand, a task."""
    md = lambda gid, **kw: meta(gid, **kw)["nbgrader"]  # noqa: E731
    cells = exercise([
        ("md", "# Problem 1", meta("intro", locked=True)),
        ("code", "def f(x):\n    ### BEGIN SOLUTION\n    return 2 * x\n    ### END SOLUTION", meta("f", solution=True)),
        ("code", "assert f(2) == 4", meta("f-test", grade=True, locked=True, points=2)),
        ("md", "Why is the sky blue? (model answer: Rayleigh scattering)", meta("why", solution=True, grade=True,
                                                                              points=3)),
        ("code", "### BEGIN SOLUTION\nplot = 'a plot'\n### END SOLUTION", meta("plot", solution=True, grade=True,
                                                                              points=2)),
        ("md", "Task: describe your plot in a cell below.", meta("task", locked=True, points=4)),
    ])
    cells.cells[5].metadata["nbgrader"]["task"] = True
    assert md("x")  # the builder's metadata has every key nbgrader writes
    return cells


def score(source, submission, replies=None, **kw):
    released = student_version(source)[0]
    resources = {}
    nb, _ = RestoreTests(source=source, released=released).preprocess(copy.deepcopy(submission), resources)
    state = state_of(resources)
    state.replies = replies if replies is not None else {i: Reply("ok") for i, c in enumerate(nb.cells)
                                                         if c.cell_type == "code"}
    nb, _ = ScoreTests(released=released, **kw).preprocess(nb, resources)
    return {t.test: t for t in state.tests}, state.flags


def test_answers_graded_by_hand_and_tasks_count_and_wait_for_an_instructor(tmp_path):
    source = course_notebook()
    path = tmp_path / "problem1.ipynb"
    nbformat.write(source, path)
    ex = load_exercise(path, "ps1")
    assert ex.key == "ps1/problem1" and ex.max_points == 11 and ex.tests == {"f-test": 2}
    assert {g: k for g, (_, k) in ex.graded.items()} == {"f-test": "auto", "why": "manual", "plot": "manual",
                                                         "task": "task"}
    nb = copy.deepcopy(student_version(source)[0])
    nb.cells[1].source = "def f(x):\n    return x + x"
    nb.cells[3].source = "Because of *Rayleigh* scattering."
    nb.cells.insert(6, new_markdown_cell("My plot shows a line."))
    results, flags = score(source, nb)
    assert flags == []
    assert results["f-test"].status == "passed" and results["f-test"].points == 2
    assert (results["why"].status, results["why"].kind, results["why"].answer) == (
        PENDING, "manual", "Because of *Rayleigh* scattering.")
    assert results["plot"].status == "no-answer" and results["plot"].message == "No response."
    assert (results["task"].status, results["task"].answer) == (PENDING, "My plot shows a line.")


def test_a_number_as_a_tests_result_is_partial_credit_and_stderr_fails_only_as_nbgrader_scores():
    source = exercise([
        ("code", "x = 1", meta("s", solution=True)),
        ("code", "0.5", meta("half", grade=True, locked=True, points=2)),
        ("code", "99", meta("over", grade=True, locked=True, points=2)),
        ("code", "'not a number'", meta("text", grade=True, locked=True, points=2)),
        ("code", "import sys; print('warn', file=sys.stderr)", meta("noisy", grade=True, locked=True, points=1)),
    ])
    nb = copy.deepcopy(student_version(source)[0])
    nb.cells[0].source = "x = 2"
    nb.cells[1].outputs = [new_output("execute_result", {"text/plain": "0.5"}, execution_count=1)]
    nb.cells[2].outputs = [new_output("execute_result", {"text/plain": "99"}, execution_count=1)]
    nb.cells[3].outputs = [new_output("execute_result", {"text/plain": "'not a number'"}, execution_count=1)]
    nb.cells[4].outputs = [new_output("stream", name="stderr", text="warn\n")]
    for stderr_fails, noisy in ((False, 1.0), (True, 0.0)):
        replies = {i: Reply("ok") for i in range(5)}
        # RestoreTests puts the source's cells back: give the restored cells the outputs they had
        released = student_version(source)[0]
        resources = {}
        restored, _ = RestoreTests(source=source, released=released).preprocess(copy.deepcopy(nb), resources)
        for i in range(1, 5):
            restored.cells[i].outputs = nb.cells[i].outputs
        state_of(resources).replies = replies
        ScoreTests(released=released, stderr_fails=stderr_fails).preprocess(restored, resources)
        got = {t.test: (t.points, t.status) for t in state_of(resources).tests}
        assert got == {"half": (0.5, "partial"), "over": (2.0, "passed"), "text": (2.0, "passed"),
                       "noisy": (noisy, "passed" if noisy else "failed")}


@pytest.mark.parametrize("change", ["points-as-float", "no-locked-flag", "nbgrader-bookkeeping", "lab-metadata",
                                    "blank-lines-in-a-test"])
def test_what_nbgrader_and_jupyterlab_change_on_their_own_raises_no_flag(change):
    source = course_notebook()
    nb = copy.deepcopy(student_version(source)[0])
    for i, cell in enumerate(nb.cells):
        cell["id"] = f"lab-{i}"
        nbg = cell.metadata["nbgrader"]
        if change == "points-as-float" and "points" in nbg:
            nbg["points"] = float(nbg["points"])
        elif change == "no-locked-flag":
            nbg.pop("locked", None)
            cell.metadata.pop("editable", None)
        elif change == "nbgrader-bookkeeping":
            nbg.update(checksum="0" * 32, cell_type=cell.cell_type, schema_version=3)
        elif change == "lab-metadata":
            cell.metadata.update(trusted=True, collapsed=False, scrolled=True, jupyter={"source_hidden": False},
                                 execution={"iopub.status.busy": "2026-01-10T10:00:00Z"})
    if change == "blank-lines-in-a-test":
        nb.cells[2].source = "\n" + nb.cells[2].source + "   \n\n"
    _, flags = score(source, nb)
    assert flags == []


@pytest.mark.parametrize("edit, flag", [
    (lambda nb: nb.cells[2].__setitem__("source", "assert True"), "locked cell 'f-test' was changed"),
    (lambda nb: nb.cells[2].metadata.nbgrader.__setitem__("points", 20), "the metadata of cell 'f-test'"),
    (lambda nb: nb.cells[3].metadata.nbgrader.__setitem__("points", 30), "the metadata of cell 'why'"),
    (lambda nb: nb.cells[5].__setitem__("source", "Task: nothing to do."), "locked cell 'task' was changed"),
    (lambda nb: nb.cells[2].metadata.nbgrader.__setitem__("grade_id", "mine"), "cell 'f-test' was deleted"),
])
def test_every_real_edit_of_a_test_a_locked_cell_points_or_ids_is_still_flagged(edit, flag):
    source = course_notebook()
    nb = copy.deepcopy(student_version(source)[0])
    edit(nb)
    _, flags = score(source, nb)
    assert any(flag in f for f in flags), flags


# -- late submissions ------------------------------------------------------------------------------------

def test_times_are_read_as_nbgrader_writes_them_and_a_time_without_zone_is_utc():
    assert str(parse_time("2015-02-01 09:28:58.749302 America/Los_Angeles")) == "2015-02-01 17:28:58.749302+00:00"
    assert parse_time("2026-01-10 12:00:00 UTC") == parse_time("2026-01-10T13:00:00+01:00") == parse_time(
        "2026-01-10 12:00:00")
    with pytest.raises(LateError, match="unknown time zone 'Mars/Base'"):
        parse_time("2026-01-10 12:00:00 Mars/Base")
    with pytest.raises(LateError, match="is not a time"):
        parse_time("next tuesday")


@pytest.mark.parametrize("policy, late_hours, expected", [
    ("none", 30, 0.0),
    ("zero", 0.01, 7.0),
    ("zero;grace=1h", 0.5, 0.0),
    ("zero;grace=1h", 1.5, 7.0),
    ("per-hour:10", 0.2, 1.0),  # part of an hour counts as an hour: 10% of 10 points
    ("per-hour:10", 2.5, 3.0),
    ("per-day:25", 30, 5.0),
    ("per-day:50", 100, 7.0),  # never below 0
    ("per-hour:10;grace=15m", 0.25, 0.0),
    ("per-hour:10;grace=15m", 1.3, 2.0),
])
def test_late_policies(policy, late_hours, expected):
    assert LatePolicy.parse(policy).penalty(7.0, 10.0, late_hours * 3600) == pytest.approx(expected)
    assert str(LatePolicy.parse(str(LatePolicy.parse(policy)))) == str(LatePolicy.parse(policy))


@pytest.mark.parametrize("text", ["sometimes", "per-hour", "per-hour:0", "per-day:150", "zero:5", "none;when=1"])
def test_a_policy_that_cannot_be_read_is_a_clear_error(text):
    with pytest.raises(LateError, match="late policy"):
        LatePolicy.parse(text)


def test_a_result_shows_the_penalty_and_the_final_score():
    r = SubmissionResult("ann", "problem1", "p", "sum", [TestResult("t", 6.0, 10.0, "passed")], max_points=10,
                         assignment="ps1", submitted_at="2026-01-10T14:30:00+00:00", due="2026-01-10T12:00:00+00:00",
                         late_policy="per-hour:10")
    assert late_seconds(r.submitted_at, r.due) == 9000
    assert (r.total, r.penalty, r.final) == (6.0, 3.0, 3.0)
    assert r.to_dict()["final"] == 3.0 and "late: -3" in r.summary()


# -- the gradebook and the manual CSV round trip ----------------------------------------------------------

def pending_result(student="ann", answer="Rayleigh scattering"):
    return SubmissionResult(student, "problem1", "p", "sum", [
        TestResult("f-test", 2.0, 2.0, "passed"),
        TestResult("why", 0.0, 3.0, PENDING, kind="manual", answer=answer),
        TestResult("task", 0.0, 4.0, PENDING, kind="task", answer="=HYPERLINK(\"http://evil\")"),
    ], max_points=9, assignment="ps1")


def exported(book_path) -> list[dict]:
    out = io.StringIO()
    import contextlib

    with contextlib.redirect_stdout(out):
        assert manual.export_main(gradebook=book_path) == 0
    return list(csv.DictReader(io.StringIO(out.getvalue())))


def write_csv(path, rows):
    with open(path, "w", newline="") as f:
        writer = csv.DictWriter(f, fieldnames=list(rows[0]))
        writer.writeheader()
        writer.writerows(rows)


def test_a_manual_csv_round_trip_gives_the_totals_and_survives_regrading(tmp_path):
    book_path = tmp_path / "g.sqlite"
    with Gradebook(book_path) as book:
        book.record(pending_result())
        book.record(pending_result("bob"))
    rows = exported(book_path)
    assert [(r["student"], r["cell"], r["points_possible"]) for r in rows] == [
        ("ann", "why", "3"), ("ann", "task", "4"), ("bob", "why", "3"), ("bob", "task", "4")]
    assert rows[1]["answer"].startswith("'=")  # a spreadsheet shows it as text, not a formula
    rows[0].update(points="2.5", comment="-good, but say why")
    rows[1].update(points="4")
    rows[2].update(points="1")  # bob's task stays blank: still pending
    write_csv(tmp_path / "m.csv", rows)
    assert manual.import_main(file=tmp_path / "m.csv", gradebook=book_path) == 0
    with Gradebook(book_path) as book:
        ann, bob = book.submissions()
        assert (ann.total, ann.auto_points, ann.manual_points, ann.pending_points) == (8.5, 2.0, 6.5, 0.0)
        assert {t.test: t.status for t in ann.tests} == {"f-test": "passed", "why": BY_HAND, "task": BY_HAND}
        assert ann.tests[1].comment == "-good, but say why"
        assert (bob.total, bob.pending_points) == (3.0, 4.0)
        book.record(pending_result())  # graded again (the same answers): the hand-given scores stay
        book.record(pending_result("bob", answer="a new answer"))  # bob resubmitted: his answer waits again
        ann, bob = book.submissions()
        assert ann.total == 8.5
        assert bob.tests[1].status == PENDING and "changed since it was graded" in bob.tests[1].message
    assert [r["student"] for r in exported(book_path)] == ["bob", "bob"]


@pytest.mark.parametrize("change, problem", [
    ({"student": "nobody"}, "has no answer graded by hand"),
    ({"cell": "f-test"}, "has no answer graded by hand"),
    ({"points": "3.5"}, "out of range (0 to 3)"),
    ({"points": "-1"}, "out of range"),
    ({"points": "lots"}, "is not a number"),
    ({"answer_sha256": "0" * 64}, "the answer changed since this file was exported"),
])
def test_a_bad_row_imports_nothing_and_names_the_row(tmp_path, capsys, change, problem):
    book_path = tmp_path / "g.sqlite"
    with Gradebook(book_path) as book:
        book.record(pending_result())
    rows = exported(book_path)
    rows[1].update(points="4")  # a good row, which must not be recorded either
    rows[0].update({"points": "2", **change})
    write_csv(tmp_path / "m.csv", rows)
    assert manual.import_main(file=tmp_path / "m.csv", gradebook=book_path) == 2
    err = capsys.readouterr().err
    assert "nothing was imported" in err and "line 2" in err and problem in err, err
    with Gradebook(book_path) as book:
        assert book.submissions()[0].pending_points == 7.0


def test_a_gradebook_from_before_assignments_is_upgraded_with_its_rows(tmp_path):
    path = tmp_path / "old.sqlite"
    db = sqlite3.connect(path)
    db.executescript("""
        CREATE TABLE submissions (id INTEGER PRIMARY KEY, student TEXT NOT NULL, exercise TEXT NOT NULL,
            path TEXT NOT NULL, checksum TEXT NOT NULL, status TEXT NOT NULL, message TEXT NOT NULL DEFAULT '',
            flags TEXT NOT NULL DEFAULT '[]', points REAL NOT NULL, max_points REAL NOT NULL, started TEXT NOT NULL,
            finished TEXT NOT NULL, executed_nb TEXT, UNIQUE (student, exercise));
        CREATE TABLE tests (submission_id INTEGER NOT NULL REFERENCES submissions(id) ON DELETE CASCADE,
            student TEXT NOT NULL, exercise TEXT NOT NULL, test TEXT NOT NULL, points REAL NOT NULL,
            max_points REAL NOT NULL, status TEXT NOT NULL, message TEXT NOT NULL DEFAULT '',
            position INTEGER NOT NULL, PRIMARY KEY (submission_id, test));
        INSERT INTO submissions VALUES (1, 'ann', '01-start', 'p', 'sum', 'graded', '', '[]', 3, 5, 'a', 'b', NULL);
        INSERT INTO tests VALUES (1, 'ann', '01-start', 'q1', 3, 5, 'passed', '', 0);
    """)
    db.commit()
    db.close()
    with Gradebook(path) as book:
        (r,) = book.submissions()
        assert (r.student, r.assignment, r.exercise, r.total, r.tests[0].kind) == ("ann", "", "01-start", 3, "auto")
        assert book.checksum_of("ann", "01-start") == "sum"


def test_csv_cells_that_would_be_formulas_are_text():
    assert [export.safe_cell(v) for v in ("=1+1", "+x", "-x", "@SUM(A1)", "\tx", "ok", -3.0, 2)] == [
        "'=1+1", "'+x", "'-x", "'@SUM(A1)", "'\tx", "ok", -3.0, 2]
    text = export.to_csv([{"student": "=cmd|' /C calc'!A0", "points": -1.0}], ["student", "points"])
    assert text.splitlines()[1] == "'=cmd|' /C calc'!A0,-1.0"
