"""The grader end to end: release, grade against its own clusters, gradebook, export, feedback."""

import csv
import io
import json
import os
import signal
import sqlite3
import subprocess
import sys
import time
from pathlib import Path

import nbformat
import pytest

from grader import export, feedback, grade, release
from grader.exercise import is_test, load_exercises
from grader.gradebook import Gradebook
from grader.release import student_version
from support.builders import POLLUTE, solved, toy_exercise, write

ROOT = Path(__file__).resolve().parents[2]
pytestmark = pytest.mark.timeout(600)


@pytest.fixture
def toy(tmp_path):
    source = tmp_path / "source"
    write(toy_exercise(), source / "01-toy.ipynb")
    return source, load_exercises(source)["01-toy"]


def results(gradebook):
    with Gradebook(gradebook) as book:
        return {(r.student, r.exercise): r for r in book.submissions()}


# -- release --------------------------------------------------------------------------------------

def test_release_writes_student_versions(tmp_path):
    assert release.main(source=ROOT / "exercises", out=tmp_path) == 0
    exercises = load_exercises(ROOT / "exercises")
    lessons = sorted(p.stem for p in (ROOT / "notebooks").glob("[0-9][0-9]-*.ipynb"))
    assert set(exercises) <= set(lessons) and len(exercises) >= 10  # every lesson leads to one (test_notebooks)
    checksums = json.loads((tmp_path / "checksums.json").read_text())
    for name, exercise in exercises.items():
        text = (tmp_path / f"{name}.ipynb").read_text()
        assert "### BEGIN SOLUTION" not in text and "HIDDEN TESTS" not in text
        assert "raise NotImplementedError()" in text
        nb = nbformat.read(tmp_path / f"{name}.ipynb", as_version=4)
        tests = [c for c in nb.cells if is_test(c)]
        assert len(tests) >= 3
        assert all(c.metadata["editable"] is False and c.metadata["deletable"] is False for c in tests)
        assert all(not c.get("outputs") and c.get("execution_count") is None for c in nb.cells if c.cell_type == "code")
        assert set(exercise.tests) <= set(checksums[name])
        assert any("### BEGIN HIDDEN TESTS" in c.source for c in exercise.nb.cells if is_test(c)), name


def test_release_of_a_missing_source_says_what_to_do(tmp_path):
    run = subprocess.run([sys.executable, "-m", "grader", "release", "--source", str(tmp_path / "nope"),
                          "--out", str(tmp_path / "out")], capture_output=True, text=True, cwd=ROOT)
    assert run.returncode == 2, run.stderr  # a usage error, as the README says
    assert "Traceback" not in run.stderr
    assert run.stderr.splitlines() == [f"grader release: {tmp_path / 'nope'}: no such exercise directory; "
                                       "pass --source with your exercises/ folder"]
    assert run.stdout == "" and not (tmp_path / "out").exists()


# -- demo -------------------------------------------------------------------------------------------

@pytest.mark.parametrize("grading, mismatches, code", [(0, 0, 0), (0, 3, 1), (1, 0, 1), (1, 3, 1), (2, 0, 2),
                                                       (130, 0, 130)])
def test_demo_exit_code_is_the_gradings_when_grading_fails(grading, mismatches, code):
    from grader.demo import exit_code

    assert exit_code(grading, mismatches) == code


@pytest.mark.parametrize("graded", [0, 1, 2])
def test_demo_fails_when_its_grading_fails_even_if_no_score_differs(tmp_path, monkeypatch, capsys, graded):
    from grader import demo

    def fake_grade(*, submissions, source, gradebook, workers):
        Gradebook(gradebook).close()  # an empty gradebook: no score to compare, so none differs
        return graded

    monkeypatch.setattr(demo, "make_class", lambda exercises, out, **kw: {})
    monkeypatch.setattr(grade, "main", fake_grade)
    assert demo.grade_sample_class(tmp_path / "demo", students=1) == graded
    err = capsys.readouterr().err
    assert ("grading failed (exit code" in err) == bool(graded)


@pytest.mark.timeout(600)
def test_the_first_demo_runs_the_whole_loop_and_says_what_to_open(tmp_path, capsys):
    """``grader demo`` (what ``python3 dev.py demo`` runs): a few lessons executed on a 4-engine cluster, a small class
    with a shortcut student per exercise graded, report, feedback and site written, every score as expected."""
    from grader import demo

    out = tmp_path / "demo"
    assert demo.main(out=out) == 0
    printed = capsys.readouterr().out
    assert "all scores as expected" in printed
    opened = printed.split("Open:", 1)[1]
    for where in (out / "site" / "index.html", out / "report" / "index.html", out / "feedback", out / "grades.csv"):
        assert str(where.resolve()) in opened and where.exists(), where
    lessons = sorted(p.stem for p in (ROOT / "notebooks").glob("[0-9][0-9]-*.ipynb"))
    pages = {p.stem: p.read_text(encoding="utf-8") for p in (out / "site" / "lessons").glob("*.html")}
    assert sorted(pages) == lessons  # the site is the documentation site: every lesson, the first ones executed
    assert [name for name in lessons if "cell_output" in pages[name]] == list(demo.FIRST_LESSONS)
    with Gradebook(out / "gradebook.sqlite") as gb:
        rows = gb.submissions()
    students = {r.student for r in rows}
    assert {r.exercise for r in rows} == set(demo.FIRST_LESSONS)
    assert len([s for s in students if s.startswith("shortcut-")]) == demo.FIRST_SHORTCUTS * len(demo.FIRST_LESSONS)
    assert len([s for s in students if s.startswith("student")]) == demo.FIRST_STUDENTS
    assert len(list((out / "feedback").rglob("*.html"))) == len(rows)


def test_a_small_class_takes_the_first_shortcut_students_that_do_not_wait(tmp_path):
    from grader.sample_class import make_class
    from grader.shortcuts import SHORTCUTS

    exercises = {k: v for k, v in load_exercises(ROOT / "exercises").items() if k == "01-start-a-cluster"}
    expected = make_class(exercises, tmp_path, students=0, shortcuts=True, shortcuts_each=2)
    quick = [s.name for s in SHORTCUTS["01-start-a-cluster"] if "sleep" not in s.source][:2]
    assert sorted(expected) == sorted((f"shortcut-01-{name}", "01-start-a-cluster") for name in quick)


# -- grading real exercises -------------------------------------------------------------------------

# -- tampering, hidden tests, feedback ------------------------------------------------------------

def test_tampered_test_cells_are_restored_and_flagged(tmp_path, toy):
    source, exercise = toy
    nb = student_version(exercise.nb)[0]
    for cell in nb.cells:
        if is_test(cell):
            cell.source = "assert True"
    nb.cells[-1].metadata["nbgrader"]["points"] = 100
    write(nb, tmp_path / "subs" / "mallory" / "01-toy.ipynb")
    book = tmp_path / "gb.sqlite"
    assert grade.main(submissions=tmp_path / "subs", source=source, gradebook=book, quiet=True) == 0
    r = results(book)[("mallory", "01-toy")]
    assert r.total == 0 and r.possible == 5
    assert any("q1-public" in f and "restored" in f for f in r.flags)
    assert any("q2-clean" in f and "metadata" in f for f in r.flags)


def test_feedback_shows_results_but_never_hidden_tests(tmp_path, toy):
    source, exercise = toy
    write(solved(exercise), tmp_path / "subs" / "ada" / "01-toy.ipynb")
    book = tmp_path / "gb.sqlite"
    grade.main(submissions=tmp_path / "subs", source=source, gradebook=book, quiet=True)
    assert feedback.main(gradebook=book, out=tmp_path / "fb") == 0
    page = (tmp_path / "fb" / "ada" / "01-toy.html").read_text()
    assert "5 / 5" in page and "q1-hidden" in page
    assert "HIDDEN-MARKER" not in page and "sorted(rc.ids)" not in page
    result = json.loads((tmp_path / "fb" / "ada" / "01-toy.results.json").read_text())
    assert result["score"] == 5 and len(result["tests"]) == 3


# -- isolation between submissions ------------------------------------------------------------------

def test_nothing_one_submission_does_on_the_engines_reaches_the_next(tmp_path, toy):
    source, exercise = toy
    polluter = solved(exercise)
    polluter.cells.insert(len(polluter.cells) - 1, nbformat.v4.new_code_cell(POLLUTE))
    write(polluter, tmp_path / "subs" / "a-polluter" / "01-toy.ipynb")
    write(solved(exercise), tmp_path / "subs" / "b-clean" / "01-toy.ipynb")
    book = tmp_path / "gb.sqlite"
    grade.main(submissions=tmp_path / "subs", source=source, gradebook=book, quiet=True)
    got = results(book)
    # The polluter's own check sees its mess (so the check can fail) ...
    assert got[("a-polluter", "01-toy")].tests[-1].status == "failed"
    # ... and the next student gets clean engines 0..3 in a fresh directory.
    clean = got[("b-clean", "01-toy")]
    assert clean.total == 5, clean.tests


# -- the gradebook: reruns, resume, export --------------------------------------------------------------

def test_rerun_grades_only_new_or_changed_submissions(tmp_path, toy):
    source, exercise = toy
    subs, book = tmp_path / "subs", tmp_path / "gb.sqlite"
    write(solved(exercise), subs / "ada" / "01-toy.ipynb")
    grade.main(submissions=subs, source=source, gradebook=book, quiet=True)
    first = results(book)[("ada", "01-toy")].finished
    write(student_version(exercise.nb)[0], subs / "bob" / "01-toy.ipynb")
    time.sleep(1.1)
    grade.main(submissions=subs, source=source, gradebook=book, quiet=True)
    got = results(book)
    assert got[("ada", "01-toy")].finished == first, "an unchanged submission was regraded"
    assert got[("bob", "01-toy")].total == 0
    grade.main(submissions=subs, source=source, gradebook=book, quiet=True, force=True, student="ada")
    assert results(book)[("ada", "01-toy")].finished != first
    with sqlite3.connect(book) as db:
        assert db.execute("SELECT COUNT(*) FROM submissions").fetchone()[0] == 2
        assert db.execute("SELECT COUNT(*) FROM tests").fetchone()[0] == 6


def test_a_killed_run_resumes_without_regrading(tmp_path, toy):
    source, exercise = toy
    subs, book = tmp_path / "subs", tmp_path / "gb.sqlite"
    for student in ("s1", "s2", "s3"):
        write(solved(exercise), subs / student / "01-toy.ipynb")
    cmd = [sys.executable, "-m", "grader", "grade", str(subs), "--source", str(source), "--gradebook", str(book),
           "--quiet"]
    with open(tmp_path / "err.txt", "wb") as err:
        proc = subprocess.Popen(cmd, stdout=subprocess.DEVNULL, stderr=err, start_new_session=True)
    try:
        deadline = time.monotonic() + 240
        while time.monotonic() < deadline:
            if book.exists() and len(results(book)) >= 1:
                break
            assert proc.poll() is None, "the grader ended before recording a submission:\n" + \
                (tmp_path / "err.txt").read_text()[-2000:]
            time.sleep(0.2)
        else:
            pytest.fail("the first submission was never recorded; the grader said:\n" +
                        (tmp_path / "err.txt").read_text()[-2000:])
        os.killpg(proc.pid, signal.SIGKILL)
    finally:
        proc.wait(30)
    done = results(book)
    assert 1 <= len(done) < 3
    finished = {k: r.finished for k, r in done.items()}
    out = subprocess.run(cmd, capture_output=True, text=True, timeout=300)
    assert out.returncode == 0, out.stderr
    got = results(book)
    assert len(got) == 3 and all(r.total == 5 for r in got.values())
    assert all(got[k].finished == v for k, v in finished.items()), "a finished submission was graded again"


def test_export_formats_and_levels(tmp_path, toy):
    source, exercise = toy
    subs, book = tmp_path / "subs", tmp_path / "gb.sqlite"
    write(solved(exercise), subs / "ada" / "01-toy.ipynb")
    grade.main(submissions=subs, source=source, gradebook=book, quiet=True)
    assert export.main(gradebook=book, format="csv", level="test", output=tmp_path / "t.csv") == 0
    rows = list(csv.DictReader(io.StringIO((tmp_path / "t.csv").read_text())))
    assert [r["test"] for r in rows] == ["q1-public", "q1-hidden", "q2-clean"]
    assert {"student", "exercise", "test", "points", "max_points", "status"} <= set(rows[0])
    assert sum(float(r["points"]) for r in rows) == 5
    export.main(gradebook=book, format="json", level="student", output=tmp_path / "s.json")
    assert json.loads((tmp_path / "s.json").read_text()) == [
        {"student": "ada", "points": 5.0, "max_points": 5.0, "pending_points": 0.0, "penalty": 0.0, "final": 5.0,
         "exercises_graded": 1, "exercises_with_errors": 0, "exercises_not_submitted": 0}]
    out = subprocess.run([sys.executable, "-m", "grader", "export", "--gradebook", str(book), "--level", "exercise"],
                         capture_output=True, text=True)
    assert out.returncode == 0 and out.stdout.startswith("student,assignment,exercise,points")
    assert export.main(gradebook=book, format="gradescope", output=tmp_path / "gs") == 0
    results_json = json.loads((tmp_path / "gs" / "ada" / "01-toy.results.json").read_text())
    assert results_json["score"] == 5 and [t["visibility"] for t in results_json["tests"]] == [
        "visible", "after_published", "visible"]  # q1-hidden holds hidden tests


# -- bad input ------------------------------------------------------------------------------------

def test_bad_files_get_clear_errors_and_cost_nobody_else(tmp_path, toy):
    source, exercise = toy
    subs, book = tmp_path / "subs", tmp_path / "gb.sqlite"
    write(solved(exercise), subs / "ada" / "01-toy.ipynb")
    (subs / "bob").mkdir()
    (subs / "bob" / "01-toy.ipynb").write_text('{"cells": [')
    (subs / "carol").mkdir()
    write(solved(exercise), subs / "carol" / "01-tyo.ipynb")
    assert grade.main(submissions=subs, source=source, gradebook=book, quiet=True) == 1
    got = results(book)
    assert got[("ada", "01-toy")].total == 5
    bob = got[("bob", "01-toy")]
    assert bob.status == "error" and "01-toy.ipynb" in bob.message and "JSON" in bob.message
    carol = got[("carol", "01-tyo")]
    assert carol.status == "error" and "rename it to 01-toy.ipynb" in carol.message


def test_missing_submissions_folder_is_a_usage_error(tmp_path, toy):
    source, _ = toy
    out = subprocess.run([sys.executable, "-m", "grader", "grade", str(tmp_path / "nowhere"), "--source", str(source),
                          "--gradebook", str(tmp_path / "gb.sqlite")], capture_output=True, text=True)
    assert out.returncode == 2
    assert "nowhere" in out.stderr and "<student>" in out.stderr


def test_export_without_a_gradebook_says_so(tmp_path):
    out = subprocess.run([sys.executable, "-m", "grader", "export", "--gradebook", str(tmp_path / "none.sqlite")],
                         capture_output=True, text=True)
    assert out.returncode == 2 and "grader grade" in out.stderr


# -- nbgrader compatibility -------------------------------------------------------------------------

def test_nbgrader_reads_our_sources(tmp_path):
    import nbgrader.preprocessors as nbgrader  # a test dependency (pyproject.toml)

    exercise = load_exercises(ROOT / "exercises")
    for name, ex in exercise.items():
        nb = nbformat.from_dict(ex.nb)
        resources = {}
        for pre in (nbgrader.ClearSolutions(), nbgrader.ClearHiddenTests()):
            nb, resources = pre.preprocess(nb, resources)
        text = nbformat.writes(nb)
        assert "### BEGIN SOLUTION" not in text and "### BEGIN HIDDEN TESTS" not in text, name


@pytest.mark.skipif(os.geteuid() != 0, reason="the sandbox needs root")
def test_the_sandbox_shows_the_code_that_runs_in_the_box_and_nothing_else_of_the_project(tmp_path):
    """With the default layout the source is exercises/ inside the project, wherever it is cloned: a box shows the
    project's packages (what runs in it) and nothing else of the checkout (the sources, README, .git)."""
    exercise = load_exercises(ROOT / "exercises")["01-start-a-cluster"]
    nb = student_version(exercise.nb)[0]
    shown = [ROOT / "procbox" / "box.py", ROOT / "course" / "data.py"]
    hidden = [exercise.path, ROOT / "README.md", ROOT / ".git" / "HEAD", ROOT / "pyproject.toml"]
    probe = (f"for p in {[str(p) for p in shown + hidden]!r}:\n"
             "    try:\n        print('READ', p, len(open(p).read()))\n"
             "    except OSError as e:\n        print('BLOCKED', p, type(e).__name__)")
    nb.cells.insert(2, nbformat.v4.new_code_cell(probe))
    write(nb, tmp_path / "subs" / "eve" / "01-start-a-cluster.ipynb")
    book = tmp_path / "gb.sqlite"
    grade.main(submissions=tmp_path / "subs", source=ROOT / "exercises", gradebook=book, quiet=True)
    with Gradebook(book) as gb:
        executed = nbformat.reads(gb.executed_notebook("eve", "01-start-a-cluster"), as_version=4)
    text = "".join(o.get("text", "") for o in executed.cells[2].outputs)
    for path in hidden:
        assert f"BLOCKED {path} FileNotFoundError" in text, text
    for path in shown:
        assert f"READ {path}" in text, text


def test_default_workers_follow_cores_and_memory_but_not_for_a_handful_of_submissions():
    from course.cpus import usable_cpus
    from grader.local import SLOTS_PER_WORKER, SUBMISSIONS_PER_WORKER, default_workers

    gib = 2**30
    assert default_workers().n == min(usable_cpus(), max(1, default_workers().n))  # this machine: never over its CPUs
    big = default_workers(cpus=64, memory=512 * gib, memory_per_box=2 * gib)
    assert big.n == 64 and big.reason.startswith("64 workers: 64 CPUs")  # no cap of four on a big host
    tight = default_workers(cpus=64, memory=40 * gib, memory_per_box=2 * gib)
    assert tight.n == 40 // (SLOTS_PER_WORKER * 2) and "40.0 GiB available holds 10 workers" in tight.reason
    assert default_workers(cpus=8, memory=gib, memory_per_box=2 * gib).n == 1  # never none
    few = default_workers(2 * SUBMISSIONS_PER_WORKER, cpus=8, memory=64 * gib)
    assert few.n == 2 and f"{2 * SUBMISSIONS_PER_WORKER} to grade: at most 2" in few.reason
    assert default_workers(1, cpus=8, memory=64 * gib).n == default_workers(SUBMISSIONS_PER_WORKER - 1, cpus=8,
                                                                            memory=64 * gib).n == 1


def test_a_run_says_how_many_workers_and_why(tmp_path, capsys):
    """The count is printed as the run starts (issue 26): on this machine, with its CPUs, memory and submissions."""
    exercise = load_exercises(ROOT / "exercises")["01-start-a-cluster"]
    write(solved(exercise), tmp_path / "subs" / "ada" / "01-start-a-cluster.ipynb")
    assert grade.main(submissions=tmp_path / "subs", source=ROOT / "exercises", gradebook=tmp_path / "g.sqlite",
                      quiet=False) == 0
    err = capsys.readouterr().err
    assert "grader: 1 worker: 1 to grade: at most 1 (one per 4 submissions) (" in err, err
