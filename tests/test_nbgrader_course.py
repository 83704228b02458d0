"""An nbgrader course graded as it is: released, fetched, submitted, collected and autograded by real nbgrader,
then graded by this grader from the same course directory, and the two compared."""

from __future__ import annotations

import csv
import shutil

import nbformat
import pytest

from grader import export, grade, manual, release
from grader.exercise import grade_id, plain_text
from grader.gradebook import Gradebook
from grader.results import PENDING
from nbgrader_course import ASSIGNMENT, STUDENTS, SUBMITTED_AT, nbgrader_results, run_class, set_manual, write_source

pytestmark = [pytest.mark.cluster, pytest.mark.timeout(900)]

UNTOUCHED = ("alice", "bob", "carol", "erin")  # made only by nbgrader's fetch and submit, and the student's answers


@pytest.fixture(scope="module")
def graded(tmp_path_factory):
    """The course after nbgrader (penalty "zero", erin late) and after this grader, with the due date read from
    nbgrader's own gradebook.db."""
    course = tmp_path_factory.mktemp("nbgrader") / "course"
    course.mkdir()
    described = write_source(course, penalty_method="zero")
    run_class(course, STUDENTS, submitted_at=SUBMITTED_AT)
    theirs = nbgrader_results(course)
    book = course.parent / "ours.sqlite"
    code = grade.main(submissions=course, gradebook=book, late_policy="zero", quiet=True)
    assert code == 0
    with Gradebook(book) as gb:
        ours = {(r.student, r.exercise): r for r in gb.submissions()}
    return course, described, theirs, ours, book


def test_every_submission_is_graded_with_its_assignment_and_every_graded_cell(graded):
    course, described, theirs, ours, _ = graded
    assert set(ours) == set(theirs)
    for (student, notebook), r in ours.items():
        assert r.assignment == ASSIGNMENT and r.status == "graded", r.summary()
        cells = described["notebooks"][notebook]
        assert {t.test: (t.max_points, t.kind) for t in r.tests} == {g: (c["points"], c["kind"])
                                                                     for g, c in cells.items()}
        assert r.possible == theirs[(student, notebook)]["max_score"]


def test_autograded_scores_agree_with_nbgraders_for_every_student(graded):
    _, _, theirs, ours, _ = graded
    for key, r in ours.items():
        for t in r.tests:
            if t.kind == "auto":
                assert t.points == theirs[key]["auto"][t.test], (key, t)


def test_answers_graded_by_hand_are_pending_with_their_maxima_or_zero_when_untouched(graded):
    _, _, theirs, ours, _ = graded
    seen_pending = seen_empty = 0
    for key, r in ours.items():
        for t in r.tests:
            if t.kind == "auto":
                continue
            assert t.max_points == theirs[key]["max"][t.test]
            if theirs[key]["needs_manual"][t.test]:
                assert t.status == PENDING and t.points == 0, (key, t)
                seen_pending += 1
            else:  # nbgrader's "No response.": the answer is as released
                assert (t.status, t.points, theirs[key]["auto"][t.test]) == ("no-answer", 0, 0), (key, t)
                seen_empty += 1
    assert seen_pending >= 10 and seen_empty >= 2


def test_no_flag_on_untouched_submissions_and_the_tampered_test_is_flagged(graded):
    _, _, _, ours, _ = graded
    for (student, notebook), r in ours.items():
        if student in UNTOUCHED:
            assert r.flags == [], (student, notebook, r.flags)
    assert any("locked cell 'test_squares' was changed" in f for f in ours[("dave", "problem1")].flags)


def test_late_penalties_match_the_policy_and_nbgraders(graded):
    _, _, theirs, ours, _ = graded
    for key, r in ours.items():
        assert r.due.startswith("2026-01-10T12:00:00")
        assert r.penalty == theirs[key]["late_penalty"], (key, r.penalty, theirs[key])
        assert (r.penalty > 0) == (key[0] == "erin")
    assert ours[("erin", "problem1")].final == 0
    rows = {(row["student"], row["exercise"]): row for row in export.rows(Gradebook(graded[4]), "exercise")}
    assert rows[("erin", "problem2")]["late_by_hours"] == 1.5 and rows[("erin", "problem2")]["final"] == 0


def test_a_manual_csv_round_trip_gives_nbgraders_totals(graded, tmp_path):
    course, _, _, _, book = graded
    work = tmp_path / "course"  # a copy: the other tests see the course as nbgrader left it
    shutil.copytree(course, work)
    shutil.copy(book, tmp_path / "ours.sqlite")
    book = tmp_path / "ours.sqlite"
    assert manual.export_main(gradebook=book, output=tmp_path / "manual.csv") == 0
    with open(tmp_path / "manual.csv", newline="") as f:
        rows = list(csv.DictReader(f))
    assert rows and {r["assignment"] for r in rows} == {ASSIGNMENT}
    for i, row in enumerate(rows):  # an instructor's scores: different for every answer, some full, some zero
        row["points"] = str(min(float(row["points_possible"]), i % 4 * 0.5 + (i % 3)))
        row["comment"] = f"comment {i}"
        set_manual(work, row["student"], row["notebook"], row["cell"], float(row["points"]))
    with open(tmp_path / "manual.csv", "w", newline="") as f:
        writer = csv.DictWriter(f, fieldnames=list(rows[0]))
        writer.writeheader()
        writer.writerows(rows)
    assert manual.import_main(file=tmp_path / "manual.csv", gradebook=book) == 0
    theirs = nbgrader_results(work)
    with Gradebook(book) as gb:
        for r in gb.submissions():
            assert r.total == pytest.approx(theirs[(r.student, r.exercise)]["score"]), r.summary()
            assert r.pending == []
    tests = export.rows(Gradebook(book), "test")
    assert {row["status"] for row in tests if row["kind"] != "auto"} <= {"graded-by-hand", "no-answer"}
    assert any(row["comment"] == "comment 0" for row in tests)


def test_release_of_the_course_matches_nbgraders_and_says_what_it_stubbed(graded, tmp_path, capsys):
    course = graded[0]
    work = tmp_path / "course"
    shutil.copytree(course / "source", work / "source")
    assert release.main(course=work, assignment=ASSIGNMENT) == 0
    err = capsys.readouterr().err
    assert "problem2.ipynb: cell 'cube': a solution cell without '### BEGIN SOLUTION' markers" in err
    for notebook in ("problem1", "problem2"):
        ours = nbformat.read(work / "release" / ASSIGNMENT / f"{notebook}.ipynb", as_version=4)
        theirs = nbformat.read(course / "release" / ASSIGNMENT / f"{notebook}.ipynb", as_version=4)
        assert [(grade_id(c), plain_text(c.source)) for c in ours.cells] == [
            (grade_id(c), plain_text(c.source)) for c in theirs.cells]
    assert "def cube" not in (work / "release" / ASSIGNMENT / "problem2.ipynb").read_text()
