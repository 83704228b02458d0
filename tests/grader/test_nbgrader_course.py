"""An nbgrader course graded as it is: released, fetched, submitted, collected and autograded by real nbgrader,
then graded by this grader from the same course directory, and the two compared.

Two courses: ps1 (tests, answers graded by hand, a task, late penalties, tampering) and ps2, what nbgrader does
around the notebooks (the assignment's files beside them, NBGRADER_EXECUTION, a notebook left out, a mark
scheme, ### AUTOTEST directives, an empty timestamp.txt); and sources that nbgrader refuses."""

from __future__ import annotations

import csv
import json
import shutil
from types import SimpleNamespace

import nbformat
import pytest

from grader import export, grade, manual, release, report
from grader.exercise import grade_id, plain_text
from grader.gradebook import Gradebook
from grader.results import NOT_SUBMITTED, PENDING
from support.nbgrader_course import (
    ASSIGNMENT,
    MARK_SCHEME,
    PS2,
    PS2_EXPECTED,
    PS2_FILES,
    PS2_NOTEBOOKS,
    PS2_STUDENTS,
    PS2_SUBMITTED_AT,
    STUDENTS,
    SUBMITTED_AT,
    NbgraderError,
    _cell,
    nbgrader,
    nbgrader_forks,
    nbgrader_results,
    run_class,
    set_manual,
    write_assignment,
    write_config,
    write_source,
)

pytestmark = [pytest.mark.cluster, pytest.mark.timeout(900)]

UNTOUCHED = ("alice", "bob", "carol", "erin")  # made only by nbgrader's fetch and submit, and the student's answers


@pytest.fixture(scope="module", autouse=True)
def forks():
    """This module's nbgrader commands run in forks of one process that imported nbgrader (nbgrader_forks)."""
    with nbgrader_forks():
        yield


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


# -- ps2: what nbgrader does around the notebooks ---------------------------------------------------------------

@pytest.fixture(scope="module")
def ps2(tmp_path_factory):
    """ps2 after nbgrader (penalty "zero"; hal's timestamp.txt empty, his marks.ipynb left out) and after this
    grader, with the feedback pages and the report it writes."""
    course = tmp_path_factory.mktemp("nbgrader-ps2") / "course"
    write_config(course, penalty_method="zero")
    write_assignment(course, PS2, PS2_NOTEBOOKS, PS2_FILES)
    run_class(course, PS2_STUDENTS, submitted_at=PS2_SUBMITTED_AT, assignment=PS2)
    book = course.parent / "ours.sqlite"
    assert grade.main(submissions=course, gradebook=book, late_policy="zero", quiet=True) == 0
    with Gradebook(book) as gb:
        ours = {(r.student, r.exercise): r for r in gb.submissions()}
    out = course.parent / "report"
    assert report.main(gradebook=book, out=out) == 0  # writes the feedback pages to out/feedback too
    return SimpleNamespace(course=course, theirs=nbgrader_results(course, PS2), ours=ours, book=book, report=out)


def test_ps2_scores_every_cell_as_nbgrader_does_with_no_flag(ps2):
    assert set(ps2.ours) == set(ps2.theirs) == {(s, nb) for s in PS2_STUDENTS for nb in PS2_NOTEBOOKS}
    for key, r in ps2.ours.items():
        theirs = ps2.theirs[key]
        assert {t.test: (t.max_points, t.kind) for t in r.tests} == PS2_EXPECTED[key[1]]
        for t in r.tests:
            if t.kind == "auto":
                assert t.points == theirs["auto"][t.test], (key, t)
            else:
                assert (t.status == PENDING, t.points) == (theirs["needs_manual"][t.test], 0), (key, t)
        assert (r.total, r.possible) == (theirs["score"], theirs["max_score"]), key
        assert r.flags == [], (key, r.flags)
    for student in PS2_STUDENTS:  # the totals, a notebook left out included
        ours = [r for (s, _), r in ps2.ours.items() if s == student]
        theirs = [v for (s, _), v in ps2.theirs.items() if s == student]
        assert (sum(r.total for r in ours), sum(r.possible for r in ours)) == (
            sum(v["score"] for v in theirs), sum(v["max_score"] for v in theirs))
    assert sum(r.possible for (s, _), r in ps2.ours.items() if s == "hal") == 14


def test_the_assignments_files_are_beside_the_notebook_over_the_students_and_the_engines_see_them(ps2):
    passed = {s: {t.test for t in ps2.ours[(s, "files")].tests if t.status == "passed"} for s in PS2_STUDENTS}
    # fay's own data.txt (13) and helpers.py (double is 0) were replaced by the assignment's, as nbgrader does
    assert passed["fay"] == {"test_data", "test_helper", "test_table", "test_own_file", "test_grading_env"}
    assert passed["hal"] == passed["fay"] - {"test_own_file"}  # his answer.txt says 41: it was his that was read
    assert passed["gus"] == {"test_grading_env"}  # the stub raises; he handed in no answer.txt
    assert (ps2.course / "submitted" / "fay" / PS2 / "data.txt").read_text() == "13\n"  # her folder as she left it
    with Gradebook(ps2.book) as gb:
        executed = nbformat.reads(gb.executed_notebook("fay", "files", PS2), as_version=4)
    probe = next(c for c in executed.cells if grade_id(c) == "engines")
    assert [o.get("text") for o in probe.outputs] == [f"ENGINES {[('42', 'autograde')] * 4}\n"]


def test_nbgrader_execution_is_autograde_for_the_graded_code_as_in_nbgrader(ps2):
    for student in PS2_STUDENTS:
        test = next(t for t in ps2.ours[(student, "files")].tests if t.test == "test_grading_env")
        assert test.status == "passed" and ps2.theirs[(student, "files")]["auto"]["test_grading_env"] == 1


def test_a_notebook_left_out_counts_0_of_its_points_in_every_export_feedback_and_the_report(ps2, tmp_path):
    r = ps2.ours[("hal", "marks")]
    assert (r.status, r.total, r.possible, ps2.theirs[("hal", "marks")]["score"]) == (NOT_SUBMITTED, 0, 4, 0)
    assert [(t.test, t.points, t.status, t.message) for t in r.tests] == [
        ("task_files", 0, NOT_SUBMITTED, "not submitted"), ("test_triple", 0, NOT_SUBMITTED, "not submitted")]
    for fmt in ("csv", "json"):
        for level in ("test", "exercise", "student"):
            out = tmp_path / f"{level}.{fmt}"
            assert export.main(gradebook=ps2.book, format=fmt, level=level, output=out) == 0
            text = out.read_text()
            data = json.loads(text) if fmt == "json" else list(csv.DictReader(text.splitlines()))
            mine = [row for row in data if row["student"] == "hal"]
            if level == "student":
                assert [(float(row["points"]), float(row["max_points"]), int(row["exercises_not_submitted"]),
                         int(row["exercises_graded"])) for row in mine] == [(7, 14, 1, 2)], fmt
            else:
                missing = [row for row in mine if row["exercise"] == "marks"]
                assert [row["status"] for row in missing] == [NOT_SUBMITTED] * (2 if level == "test" else 1), fmt
                assert all(float(row["points"]) == 0 for row in missing)
    roster = tmp_path / "roster.csv"
    roster.write_text("Student,ID,SIS User ID,SIS Login ID,Section\n" + "".join(
        f"{s.title()},{i},s{i},{s},A\n" for i, s in enumerate(PS2_STUDENTS)))
    assert export.main(gradebook=ps2.book, format="canvas", roster=roster, output=tmp_path / "canvas.csv") == 0
    canvas = list(csv.reader((tmp_path / "canvas.csv").read_text().splitlines()))
    assert canvas[1][-1] == "14" and canvas[-1][3:] == ["hal", "A", "7"]
    assert export.main(gradebook=ps2.book, format="gradescope", output=tmp_path / "gs") == 0
    scope = json.loads((tmp_path / "gs" / "hal" / PS2 / "marks.results.json").read_text())
    assert scope["score"] == 0 and scope["output"].startswith("not submitted")
    assert [(t["score"], t["max_score"], t["output"]) for t in scope["tests"]] == [(0, 3, "not submitted"),
                                                                                   (0, 1, "not submitted")]
    page = (ps2.report / "feedback" / "hal" / PS2 / "marks.html").read_text()
    assert "Not submitted:</strong> this notebook was not handed in" in page and "0 / 4" in page
    index = (ps2.report / "index.html").read_text()
    assert "Not submitted (a notebook missing from an assignment handed in) (1)" in index
    students = index[index.index('id="students"'):]
    hal = students[students.index("<tr><td>hal</td>"):][:600]
    assert 'data-sort="7.0">7<' in hal and 'data-sort="14.0">14<' in hal


def test_our_release_of_ps2_is_nbgraders_autotests_expanded_alike_and_no_mark_scheme(ps2, tmp_path, capsys):
    work = tmp_path / "course"
    shutil.copytree(ps2.course / "source", work / "source")
    assert release.main(course=work, assignment=PS2) == 0
    for notebook in PS2_NOTEBOOKS:
        ours = nbformat.read(work / "release" / PS2 / f"{notebook}.ipynb", as_version=4)
        theirs = nbformat.read(ps2.course / "release" / PS2 / f"{notebook}.ipynb", as_version=4)
        assert [(grade_id(c), plain_text(c.source)) for c in ours.cells] == [
            (grade_id(c), plain_text(c.source)) for c in theirs.cells], notebook
    released = {p.relative_to(work / "release" / PS2).as_posix() for p in (work / "release" / PS2).rglob("*")
                if p.is_file()}
    assert released == set(PS2_FILES) | {f"{nb}.ipynb" for nb in PS2_NOTEBOOKS}  # as generate_assignment copies
    marks = (work / "release" / PS2 / "marks.ipynb").read_text()
    assert "MARK SCHEME" not in marks and MARK_SCHEME.splitlines()[1] not in marks
    auto = nbformat.read(work / "release" / PS2 / "auto.ipynb", as_version=4)
    hashed = next(c for c in auto.cells if grade_id(c) == "test_hashed").source
    assert "AUTOTEST" not in hashed and "sha1(" in hashed and hashed.endswith("print('Success!')")
    page = (ps2.report / "feedback" / "gus" / PS2 / "marks.html").read_text()
    assert MARK_SCHEME.splitlines()[1] not in page  # nor in feedback, where the task cell comes from the source


def test_autotests_score_as_nbgraders_and_an_untouched_stub_earns_nothing(ps2):
    for student, expected in (("fay", 4), ("gus", 0), ("hal", 2)):  # hal's b is "Hello": the case check fails
        r = ps2.ours[(student, "auto")]
        assert r.total == ps2.theirs[(student, "auto")]["score"] == expected, student
    failed = next(t for t in ps2.ours[("hal", "auto")].tests if t.test == "test_auto")
    assert failed.message == 'AssertionError: correct letters in b but not their "case"'


def test_an_empty_timestamp_is_no_timestamp_no_flag_and_no_penalty(ps2):
    assert (ps2.course / "submitted" / "hal" / PS2 / "timestamp.txt").read_text() == ""
    for notebook in ("files", "auto"):
        r = ps2.ours[("hal", notebook)]
        assert (r.submitted_at, r.penalty, r.flags) == ("", 0, [])
        assert ps2.theirs[("hal", notebook)]["late_penalty"] == 0
    assert ps2.ours[("fay", "files")].submitted_at.startswith("2026-01-10T11:00:00")


# -- sources nbgrader refuses ------------------------------------------------------------------------------------

def _refused(kind: str) -> list:
    solution = _cell("code", "### BEGIN SOLUTION\nx = 1\n### END SOLUTION", "solution", "answer")
    test = _cell("code", "assert x == 1", "tests", "check_x", 1)
    if kind == "empty points":
        test.metadata["nbgrader"]["points"] = ""
    elif kind == "null points":
        test.metadata["nbgrader"]["points"] = None
    elif kind == "directive outside a test":
        solution.source += "\n### AUTOTEST x"
    elif kind == "unclosed mark scheme":
        return [_cell("markdown", "## Task\n=== BEGIN MARK SCHEME ===\nall or nothing", "task", "task_x", 2), test]
    return [solution, test]


@pytest.mark.parametrize("kind, cell, problem", [
    ("empty points", "check_x", "is graded but its points are empty, which nbgrader refuses too"),
    ("null points", "check_x", "is graded but its points are empty, which nbgrader refuses too"),
    ("directive outside a test", "answer", "an AUTOTEST line in a cell that is not graded"),
    ("unclosed mark scheme", "task_x", "a mark scheme region is not closed by 'END MARK SCHEME'"),
    ("another kernel", "check_x", "are for kernel 'ir'; this grader expands them for Python notebooks only"),
])
def test_a_source_nbgrader_refuses_is_refused_naming_the_cell(kind, cell, problem, tmp_path, capsys):
    course = tmp_path / "course"
    write_config(course)
    cells = _refused(kind)
    if kind == "another kernel":
        cells[1].source = "### AUTOTEST x"
    write_assignment(course, "ps3", {"bad": cells}, {"autotests.yml": PS2_FILES["autotests.yml"]})
    path = course / "source" / "ps3" / "bad.ipynb"
    if kind == "another kernel":
        nb = nbformat.read(path, as_version=4)
        nb.metadata["kernelspec"] = {"display_name": "R", "language": "R", "name": "ir"}
        nbformat.write(nb, path)
    with pytest.raises(NbgraderError):
        nbgrader(course, "generate_assignment", "ps3", "--force")
    capsys.readouterr()
    assert release.main(course=course, assignment="ps3") == 2
    assert not (course / "release" / "ps3" / "bad.ipynb").exists()
    (course / "submitted").mkdir()
    assert grade.main(submissions=course, gradebook=tmp_path / "g.sqlite", quiet=True) == 1
    err = capsys.readouterr().err.splitlines()
    assert len(err) == 2 and all(line.startswith(f"grader {verb}: {path}: ") for line, verb in
                                 zip(err, ("release", "grade"))), err
    assert all(f"cell {cell!r}" in line and problem in line for line in err), err
