"""The pure transforms of release and grading, pinned one by one: no kernel, no cluster, each test in milliseconds.

The slow tests (test_grader.py and friends) prove the pieces work together on real clusters; these pin what
each piece does to a notebook and to the grading state.
"""

import copy
import hashlib
import json
import os

import nbformat
import pytest
from nbformat.v4 import new_code_cell, new_markdown_cell, new_output

from grader.assignment_files import AssignmentFile, ignored, merge, source_files, stage, student_files, with_data
from grader.exercise import ExerciseError, grade_id, load_exercise
from grader.intake import SubmissionError, read_submission
from grader.preprocessors.clear_mark_scheme import ClearMarkScheme, MarkSchemeError
from grader.preprocessors.clear_solutions import ClearSolutions
from grader.preprocessors.execute_submission import ExecuteSubmission
from grader.preprocessors.instantiate_autotests import AutotestError, InstantiateAutotests
from grader.preprocessors.restore_tests import RestoreTests
from grader.preprocessors.scan_submission import ScanSubmission
from grader.preprocessors.score_tests import ScoreTests
from grader.release import student_version
from grader.results import TestResult
from grader.state import GradingState, Reply, state_of
from procbox.place_files import place
from support.builders import exercise, meta, toy_exercise

pytestmark = pytest.mark.timeout(60)

STUB = "# YOUR CODE HERE\nraise NotImplementedError()"
REVIEW = "review: this can make a test pass without running it"


def sources(nb) -> list[tuple[str | None, str]]:
    return [(grade_id(c), c.source) for c in nb.cells]


# -- ClearSolutions and release ---------------------------------------------------------------------

def clear(cell):
    nb = nbformat.v4.new_notebook(cells=[cell])
    nb, _ = ClearSolutions().preprocess(nb, {})
    return nb.cells[0].source


def test_a_solution_region_becomes_the_stub_indented_like_the_region():
    cell = new_code_cell("def f(x):\n    ### BEGIN SOLUTION\n    return x * 2\n    ### END SOLUTION",
                         metadata=meta("f", solution=True))
    assert clear(cell) == "def f(x):\n    # YOUR CODE HERE\n    raise NotImplementedError()"


def test_code_around_and_between_regions_is_kept():
    cell = new_code_cell("answer = None\n### BEGIN SOLUTION\nanswer = 42\n### END SOLUTION\nprint(answer)\n"
                         "  ### BEGIN SOLUTION extra words\n  other = 1\n  ### END SOLUTION\nend = True",
                         metadata=meta("a", solution=True))
    assert clear(cell) == (f"answer = None\n{STUB}\nprint(answer)\n"
                           "  # YOUR CODE HERE\n  raise NotImplementedError()\nend = True")


def test_a_solution_markdown_cell_becomes_the_text_stub_and_other_cells_stay():
    assert clear(new_markdown_cell("It is **42**.", metadata=meta("why", solution=True))) == "YOUR ANSWER HERE"
    assert clear(new_markdown_cell("It is **42**.")) == "It is **42**."
    assert clear(new_code_cell("x = 1  # no markers")) == "x = 1  # no markers"


@pytest.mark.parametrize("source", [
    "answer = 42  # a solution cell without markers",
    "def f():\n    ### BEGIN SOLUTION\n    return 42\n# the region is never closed",
    "x = 1\n### BEGIN SOLUTION\nx = 2\n### END SOLUTION\n### BEGIN SOLUTION\nsecret = 3",
])
def test_a_solution_cell_without_a_closed_region_is_released_as_the_stub_and_named(source):
    nb = nbformat.v4.new_notebook(cells=[new_code_cell(source, metadata=meta("leaky", solution=True))])
    nb, resources = ClearSolutions().preprocess(nb, {})
    assert nb.cells[0].source == STUB
    assert len(resources["release_notes"]) == 1 and "'leaky'" in resources["release_notes"][0]
    assert "released as the stub" in resources["release_notes"][0]


def test_the_stubs_are_configurable():
    clearer = ClearSolutions(code_stub="pass  # TODO\n", text_stub="(your answer)")
    nb = nbformat.v4.new_notebook(cells=[
        new_code_cell("if True:\n    ### BEGIN SOLUTION\n    x = 1\n    ### END SOLUTION"),
        new_markdown_cell("42", metadata=meta("m", solution=True))])
    nb, _ = clearer.preprocess(nb, {})
    assert [c.source for c in nb.cells] == ["if True:\n    pass  # TODO", "(your answer)"]


def test_release_stubs_solutions_drops_hidden_tests_and_outputs_and_locks_tests():
    source = toy_exercise()
    source.cells[3].outputs = [new_output("stream", name="stdout", text="old output")]
    source.cells[3].execution_count = 7
    before = copy.deepcopy(source)
    released, resources = student_version(source)
    assert source == before  # the source is not changed
    assert sources(released) == [
        ("intro", "# Toy exercise\nTotal: 5 points"),
        ("setup", source.cells[1].source),
        ("q1", "def engine_pids():\n    # YOUR CODE HERE\n    raise NotImplementedError()"),
        ("q1-public", "assert len(set(engine_pids())) == 4"),
        ("q1-hidden", "assert os.getpid() not in engine_pids()"),
        ("q2", f"answer = None\n{STUB}"),
        ("q2-clean", source.cells[6].source),
    ]
    assert released.cells[3].outputs == [] and released.cells[3].execution_count is None
    locked = {grade_id(c) for c in released.cells if c.metadata.get("editable") is False}
    assert locked == {"intro", "setup", "q1-public", "q1-hidden", "q2-clean"}
    assert all(c.metadata["deletable"] is False and c.metadata["nbgrader"]["locked"] is True
               for c in released.cells if grade_id(c) in locked)
    assert all("editable" not in c.metadata for c in released.cells if grade_id(c) in ("q1", "q2"))
    assert resources["checksums"] == {
        grade_id(c): hashlib.sha256(f"{c.cell_type}\n{c.source}".encode()).hexdigest()
        for c in released.cells if grade_id(c) in locked}


def test_an_unterminated_hidden_block_is_dropped_to_the_end_of_the_cell():
    source = exercise([("code", "assert True\n### BEGIN HIDDEN TESTS\nassert secret()",
                        meta("t", grade=True, locked=True, points=1))])
    released, _ = student_version(source)
    assert sources(released) == [("t", "assert True")]


# -- RestoreTests ------------------------------------------------------------------------------------

@pytest.fixture(scope="module")
def toy():
    source = toy_exercise()
    return source, student_version(source)[0]


def restore(toy, submission):
    source, released = toy
    resources = {}
    nb, _ = RestoreTests(source=source, released=released).preprocess(copy.deepcopy(submission), resources)
    return nb, state_of(resources).flags


def answered(released):
    """The released notebook with both questions answered (what a diligent student hands in)."""
    nb = copy.deepcopy(released)
    nb.cells[2].source = "def engine_pids():\n    return dview.apply_sync(os.getpid)"
    nb.cells[5].source = "answer = 42"
    return nb


def expected(toy, q1="def engine_pids():\n    return dview.apply_sync(os.getpid)", q2="answer = 42"):
    """What grading runs: the source's cells, with the student's code in the two solution cells."""
    source, _ = toy
    return [(grade_id(c), {"q1": q1, "q2": q2}.get(grade_id(c), c.source)) for c in source.cells]


def test_an_untouched_submission_gets_the_hidden_tests_back_and_no_flag(toy):
    nb, flags = restore(toy, answered(toy[1]))
    assert flags == []
    assert sources(nb) == expected(toy)
    assert "### BEGIN HIDDEN TESTS" in nb.cells[4].source
    assert [c.metadata["nbgrader"] for c in nb.cells] == [c.metadata["nbgrader"] for c in toy[0].cells]


def test_a_deleted_test_cell_is_restored_from_the_source(toy):
    nb = answered(toy[1])
    del nb.cells[4]  # q1-hidden
    nb, flags = restore(toy, nb)
    assert flags == ["cell 'q1-hidden' was deleted and has been restored"]
    assert sources(nb) == expected(toy)


def test_a_deleted_solution_comes_back_as_released_never_with_the_solution(toy):
    nb = answered(toy[1])
    del nb.cells[5]  # q2
    nb, flags = restore(toy, nb)
    assert flags == ["cell 'q2' was deleted and has been restored"]
    assert sources(nb) == expected(toy, q2=f"answer = None\n{STUB}")


def test_moved_cells_go_back_to_the_sources_order(toy):
    nb = answered(toy[1])
    nb.cells[3], nb.cells[4] = nb.cells[4], nb.cells[3]
    nb, flags = restore(toy, nb)
    assert flags == ["cells 'q1-public' were moved; the exercise's order was restored"]
    assert sources(nb) == expected(toy)


def test_a_duplicated_test_cell_is_removed_and_a_duplicated_solution_kept_as_ordinary_code(toy):
    nb = answered(toy[1])
    test_copy, solution_copy = copy.deepcopy(nb.cells[3]), copy.deepcopy(nb.cells[5])
    solution_copy.source = "answer = 41"
    nb.cells.insert(6, solution_copy)
    nb.cells.append(test_copy)
    nb, flags = restore(toy, nb)
    assert flags == ["cell 'q2' appears twice; the copy was kept as an ordinary cell",
                     "cell 'q1-public' appears twice; the copy was removed"]
    want = expected(toy)
    want.insert(6, (None, "answer = 41"))  # after q2, where the student put it, and no longer graded
    assert sources(nb) == want
    assert "nbgrader" not in nb.cells[6].metadata


def test_an_edited_test_cell_is_restored(toy):
    nb = answered(toy[1])
    nb.cells[3].source = "assert True  # looks fine to me"
    nb.cells[6].cell_type = "markdown"
    nb, flags = restore(toy, nb)
    assert flags == ["locked cell 'q1-public' was changed and has been restored",
                     "locked cell 'q2-clean' was changed and has been restored"]
    assert sources(nb) == expected(toy)
    assert nb.cells[6].cell_type == "code"


def test_forged_metadata_is_put_right_and_counts_for_nothing(toy):
    nb = answered(toy[1])
    nb.cells[5].metadata["nbgrader"].update(grade=True, points=100)  # the solution claims to be a test
    nb.cells[5].metadata["nbgrader"]["checksum"] = "nbgrader's own bookkeeping is not meaning"
    nb.cells[2].metadata["nbgrader"]["checksum"] = "abc"  # only bookkeeping changed: no flag
    forged = new_code_cell("assert True", metadata=meta("bonus", grade=True, locked=True, points=50))
    nb.cells.insert(3, forged)
    nb, flags = restore(toy, nb)
    assert flags == ["a cell claims to be graded or locked as 'bonus', which the exercise does not have; "
                     "it counts for nothing",
                     "the metadata of cell 'q2' was changed and has been restored"]
    want = expected(toy)
    want.insert(3, (None, "assert True"))  # after q1, where the student put it
    assert sources(nb) == want
    assert nb.cells[3].metadata == {}
    assert nb.cells[6].metadata["nbgrader"] == toy[0].cells[5].metadata["nbgrader"]


def test_cells_the_student_added_stay_where_they_were(toy):
    nb = answered(toy[1])
    nb.cells.insert(0, new_markdown_cell("my notes"))
    nb.cells.insert(4, new_code_cell("print(engine_pids())"))  # after q1
    nb, flags = restore(toy, nb)
    assert flags == []
    want = expected(toy)
    want.insert(0, (None, "my notes"))
    want.insert(4, (None, "print(engine_pids())"))
    assert sources(nb) == want


# -- ScoreTests ----------------------------------------------------------------------------------------

def scored(cells, replies, crash=""):
    nb = nbformat.v4.new_notebook(cells=cells)
    resources = {"grader": GradingState(replies=replies, crash=crash)}
    nb, _ = ScoreTests().preprocess(nb, resources)
    return nb, state_of(resources).tests


def graded(gid, points):
    return new_code_cell(f"assert {gid}", metadata=meta(gid, grade=True, locked=True, points=points))


def test_replies_become_test_results():
    cells = [new_markdown_cell("# Exercise"), graded("a", 1), graded("b", 2), graded("c", 3),
             new_code_cell("x = 1", metadata=meta("s", solution=True)), graded("d", 4), graded("e", 0.5)]
    replies = {1: Reply("ok"), 2: Reply("error", "AssertionError", "b is wrong"),
               3: Reply("error", "CellTimeoutError", "the cell ran longer than 5 s"),
               4: Reply("error", "NameError", "name 'x' is not defined"), 6: Reply("error", "AssertionError", "")}
    _, tests = scored(cells, replies)
    assert tests == [
        TestResult("a", 1.0, 1.0, "passed", ""),
        TestResult("b", 0.0, 2.0, "failed", "AssertionError: b is wrong"),
        TestResult("c", 0.0, 3.0, "timeout", "CellTimeoutError: the cell ran longer than 5 s"),
        TestResult("d", 0.0, 4.0, "not-run", "the cell did not run"),
        TestResult("e", 0.0, 0.5, "failed", "AssertionError"),
    ]


def test_tests_that_did_not_run_after_a_crash_say_why():
    crash = "the kernel died while running cell 1 (Kernel died)"
    _, tests = scored([graded("a", 1), graded("b", 2), graded("c", 1)], {0: Reply("ok")}, crash=crash)
    assert tests == [TestResult("a", 1.0, 1.0, "passed", ""), TestResult("b", 0.0, 2.0, "not-run", crash),
                     TestResult("c", 0.0, 1.0, "not-run", crash)]


def test_an_aborted_reply_fails_and_a_test_without_points_is_worth_nothing():
    cell = new_code_cell("assert a", metadata=meta("a", grade=True, locked=True))
    _, tests = scored([cell, graded("b", 2)], {0: Reply("ok"), 1: Reply("aborted")})
    assert tests == [TestResult("a", 0.0, 0.0, "passed", ""), TestResult("b", 0.0, 2.0, "failed", "None: None")]


def test_error_tracebacks_in_test_cells_are_cut_to_ename_and_evalue():
    hidden = ["Traceback (most recent call last)", "  assert secret_check(), 'HIDDEN-MARKER'", "AssertionError: no"]
    cell = graded("a", 1)
    cell.outputs = [new_output("stream", name="stdout", text="printed\n"),
                    new_output("error", ename="AssertionError", evalue="no", traceback=hidden)]
    other = new_code_cell("1/0")
    other.outputs = [new_output("error", ename="ZeroDivisionError", evalue="division by zero", traceback=["tb"])]
    nb, _ = scored([cell, other], {0: Reply("error", "AssertionError", "no")})
    assert nb.cells[0].outputs[1].traceback == ["AssertionError: no"]
    assert nb.cells[0].outputs[0].text == "printed\n"
    assert nb.cells[1].outputs[0].traceback == ["tb"]  # not a test cell: the student's own traceback stays
    assert "HIDDEN-MARKER" not in json.dumps(nb)


# -- ExecuteSubmission's output caps -------------------------------------------------------------------

def test_output_a_cell_cap_dropped_leaves_the_other_cells_their_share():
    """A cell's output is cut at its own cap with a note, whatever the size of the message that crosses it (a kernel
    that prints without end may flush megabytes at once); only what is kept counts towards the notebook's cap."""
    ep = ExecuteSubmission(max_output_chars=1000, max_total_output_chars=2500)
    ep.reset_execution_trackers()
    ep._total_chars = 0  # (as preprocess starts the notebook)
    kept = []
    for index, text in enumerate(["x" * 50_000, "y" * 700, "y" * 700, "y" * 700, "y" * 700]):
        ep._chars, ep.clear_before_next_output, outs = 0, False, []  # (as each cell starts)
        msg = {"msg_type": "stream", "parent_header": {}, "header": {"msg_type": "stream"},
               "content": {"name": "stdout", "text": text}}
        ep.output(outs, msg, None, index)
        kept.append([(out.name, out.text[:3] if out.name == "stdout" else out.text.strip()) for out in outs])
    assert kept == [[("stderr", "... [output cut at 1000 characters]")], [("stdout", "yyy")], [("stdout", "yyy")],
                    [("stdout", "yyy")], [("stderr", "... [the notebook's output cut at 2500 characters]")]]


# -- ScanSubmission ------------------------------------------------------------------------------------

def test_the_scan_flags_the_students_cells_once_and_leaves_the_notebook_alone():
    nb = nbformat.v4.new_notebook(cells=[
        new_code_cell("import ctypes", metadata=meta("setup", locked=True)),  # the instructor's: not scanned
        new_code_cell("import ctypes\nimport sys\nsys.settrace(None)", metadata=meta("q1", solution=True)),
        graded("q1-test", 1),
        new_code_cell("import ctypes as c"),
        new_markdown_cell("import ctypes"),
        new_code_cell("x = 1"),
    ])
    before = copy.deepcopy(nb)
    resources = {"grader": GradingState(flags=["restored something"])}
    for _ in range(2):  # running it again adds nothing
        nb, _ = ScanSubmission().preprocess(nb, resources)
    assert state_of(resources).flags == [
        "restored something",
        f"cell 1 (q1): the submitted code uses ctypes — {REVIEW}",
        f"cell 1 (q1): the submitted code uses a trace function (settrace) — {REVIEW}",
        f"cell 3: the submitted code uses ctypes — {REVIEW}",
    ]
    assert nb == before


# -- read_submission -----------------------------------------------------------------------------------

def write_bytes(path, data: bytes):
    path.write_bytes(data)
    return path


def test_a_notebook_is_read_with_its_outputs_cleared(tmp_path):
    nb = toy_exercise()
    nb.cells[1].outputs = [new_output("stream", name="stdout", text="hi")]
    nb.cells[1].execution_count = 3
    path = tmp_path / "01-toy.ipynb"
    nbformat.write(nb, path)
    got, flags = read_submission(path, checksum=hashlib.sha256(path.read_bytes()).hexdigest())
    assert flags == []
    assert sources(got) == sources(nb)
    assert got.cells[1].outputs == [] and got.cells[1].execution_count is None


def test_another_kernel_and_nbformat_3_are_read_and_flagged(tmp_path):
    nb = toy_exercise()
    nb.metadata.kernelspec = {"name": "ir", "display_name": "R", "language": "R"}
    nbformat.write(nb, tmp_path / "r.ipynb")
    _, flags = read_submission(tmp_path / "r.ipynb")
    assert flags == ["the notebook asked for kernel 'ir'; it was graded with python3"]

    v3 = nbformat.v3.new_notebook(worksheets=[nbformat.v3.new_worksheet(cells=[nbformat.v3.new_code_cell(
        input="x = 1")])])
    nbformat.write(v3, tmp_path / "v3.ipynb", version=3)
    got, flags = read_submission(tmp_path / "v3.ipynb")
    assert flags == ["the notebook was in nbformat 3 and was converted to nbformat 4"]
    assert got.nbformat == 4 and [c.source for c in got.cells] == ["x = 1"]


REDOWNLOAD = "the student should re-download the .ipynb from Jupyter (File > Download) and submit it again"


@pytest.mark.parametrize("data, problem", [
    (b"", "the file is empty; the student should save the notebook and submit it again"),
    (b"\xff\xfe{}", f"not a notebook (not UTF-8 text); {REDOWNLOAD}"),
    (b"{\n  \"cells\": [", f"not a notebook: invalid JSON at line 2 (Expecting value); {REDOWNLOAD}"),
    (b"[1, 2]", "not a Jupyter notebook (nbformat None); the student should re-download the .ipynb from "
                "Jupyter and submit it again"),
    (b'{"nbformat": 5}', "not a Jupyter notebook (nbformat 5); the student should re-download the .ipynb from "
                         "Jupyter and submit it again"),
    (b'{"nbformat": true}', "not a Jupyter notebook (nbformat True); the student should re-download the .ipynb "
                            "from Jupyter and submit it again"),
    (b"[" * 101 + b"]" * 101, f"not a notebook: its JSON nests more than 100 levels deep; {REDOWNLOAD}"),
], ids=["empty", "not-utf8", "bad-json", "not-an-object", "nbformat-5", "nbformat-bool", "too-deep"])
def test_a_file_that_is_not_a_notebook_says_what_the_student_should_do(tmp_path, data, problem):
    path = write_bytes(tmp_path / "01-toy.ipynb", data)
    with pytest.raises(SubmissionError) as e:
        read_submission(path)
    assert str(e.value) == f"{path}: {problem}"


def test_an_invalid_notebook_names_the_schema_problem_briefly(tmp_path):
    path = write_bytes(tmp_path / "01-toy.ipynb", json.dumps(
        {"nbformat": 4, "nbformat_minor": 5, "metadata": {}, "cells": [{"cell_type": "code"}]}).encode())
    with pytest.raises(SubmissionError) as e:
        read_submission(path)
    message = str(e.value)
    assert message.startswith(f"{path}: not a valid notebook (")
    assert message.endswith("); the student should re-download it from Jupyter and submit it again")
    assert len(message) < len(str(path)) + 400


def test_a_file_over_the_limit_or_changed_since_discovery_is_refused(tmp_path):
    path = tmp_path / "01-toy.ipynb"
    nbformat.write(toy_exercise(), path)
    size = path.stat().st_size
    with pytest.raises(SubmissionError) as e:
        read_submission(path, max_bytes=size - 1)
    assert str(e.value) == (f"{path}: {size} bytes is larger than the {size - 1}-byte limit; the student should "
                            "clear the outputs (Edit > Clear Outputs of All Cells), save and submit again")
    assert read_submission(path, max_bytes=size)[1] == []
    with pytest.raises(SubmissionError) as e:
        read_submission(path, checksum="0" * 64)
    assert str(e.value) == (f"{path}: the file changed while the grader was reading it; grade again to grade the "
                            "new version (the student should not replace it while grading runs)")


def test_links_are_refused_without_being_followed(tmp_path):
    target = tmp_path / "elsewhere.ipynb"
    nbformat.write(toy_exercise(), target)
    student = tmp_path / "subs" / "alice"
    student.mkdir(parents=True)
    os.symlink(target, student / "01-toy.ipynb")
    with pytest.raises(SubmissionError) as e:
        read_submission(student / "01-toy.ipynb", root=tmp_path / "subs")
    assert str(e.value) == (f"{student / '01-toy.ipynb'}: is a symbolic link, which the grader does not follow; "
                            "submit the notebook itself, as a regular file in the student's own folder, not a link")
    os.link(target, student / "01-hard.ipynb")
    with pytest.raises(SubmissionError, match=r": is hard-linked \(2 names for one file\), so it may be someone "):
        read_submission(student / "01-hard.ipynb", root=tmp_path / "subs")


# -- ClearMarkScheme ----------------------------------------------------------------------------------------

SCHEME = "=== BEGIN MARK SCHEME ===\nFull marks for naming both files.\n=== END MARK SCHEME ==="


def task(gid: str, points=3) -> dict:
    return {"nbgrader": {"schema_version": 3, "grade_id": gid, "solution": False, "grade": False, "locked": True,
                         "task": True, "points": points}}


def test_release_removes_the_mark_scheme_of_a_task_and_restoring_an_untouched_task_raises_no_flag():
    source = exercise([("md", f"## Task\n\nName the files.\n\n{SCHEME}\nAfter the scheme.", task("t")),
                       ("md", "A line saying END MARK SCHEME alone goes, as in nbgrader.", meta("intro", locked=True))])
    source.metadata["celltoolbar"] = "Create Assignment"
    released, _ = student_version(source)
    assert sources(released) == [("t", "## Task\n\nName the files.\n\nAfter the scheme."), ("intro", "")]
    assert "celltoolbar" not in released.metadata
    nb, resources = RestoreTests(source=source, released=released).preprocess(copy.deepcopy(released), {})
    assert state_of(resources).flags == []
    assert SCHEME in nb.cells[0].source  # graded from the source, as nbgrader's autograde has it


@pytest.mark.parametrize("text, kind, problem", [
    (f"{SCHEME.splitlines()[0]}\nsecret", "task", "is not closed by 'END MARK SCHEME'"),
    (f"=== BEGIN MARK SCHEME ===\n{SCHEME}", "task", "is opened again before 'END MARK SCHEME'"),
    ("=== BEGIN MARK SCHEME ===\n![plot](attachment:plot.png)\n=== END MARK SCHEME ===", "task",
     "shows an image attached to the cell"),
    (SCHEME, "readonly", "in a cell that is not a task"),
])
def test_a_mark_scheme_nbgrader_refuses_is_refused_naming_the_cell(text, kind, problem):
    cell_meta = task("marked") if kind == "task" else meta("marked", locked=True)
    with pytest.raises(MarkSchemeError) as e:
        student_version(exercise([("md", f"Question.\n{text}", cell_meta)]))
    assert str(e.value).startswith("cell 'marked': ") and problem in str(e.value)


def test_feedback_clears_task_cells_only_and_never_refuses():
    nb = exercise([("md", f"## Task\n{SCHEME.splitlines()[0]}\nunclosed", task("t")),
                   ("md", f"My own notes: {SCHEME}", {})])
    nb, _ = ClearMarkScheme(strict=False).preprocess(nb, {})
    assert [c.source for c in nb.cells] == ["## Task", f"My own notes: {SCHEME}"]


# -- InstantiateAutotests -----------------------------------------------------------------------------------

AUTOTESTS = {  # one kernel's section of an autotests.yml, as a course writes it
    "setup": "from hashlib import sha1",
    "hash": 'sha1({{snippet}}.encode("utf-8")+b"{{salt}}").hexdigest()',
    "dispatch": "type({{snippet}}).__name__",
    "normalize": "str({{snippet}})",
    "check": 'assert {{snippet}} == """{{value}}""", """{{message}}"""',
    "success": "print('Success!')",
    "templates": {
        "default": [{"test": "type({{snippet}})", "fail": "type of {{snippet}} is not correct"},
                    {"test": "{{snippet}}", "fail": "value of {{snippet}} is not correct"}],
        "list": [{"test": "len({{snippet}})", "fail": "length of {{snippet}} is not correct"},
                 {"test": "sorted(map(str, {{snippet}}))", "fail": 'values of {{snippet}} are not "right"'}],
    },
}


class FakeKernel:
    """Runs code in one namespace and answers with the repr of a last expression that is not None, as an IPython
    kernel's text/plain does for small values; records what it ran."""

    def __init__(self):
        self.ns, self.ran = {}, []

    def __call__(self, code):
        import ast

        self.ran.append(code)
        tree = ast.parse(code)
        last = tree.body.pop() if tree.body and isinstance(tree.body[-1], ast.Expr) else None
        exec(compile(tree, "<cell>", "exec"), self.ns)
        value = eval(compile(ast.Expression(last.value), "<cell>", "eval"), self.ns) if last else None
        return None if value is None else repr(value)


def autotest_notebook(tests: str, test_meta=None):
    return exercise([
        ("md", "Set a, b and c; AUTOTEST in markdown is text.", meta("intro", locked=True)),
        ("code", "### BEGIN SOLUTION\na = 5\nb = 'hi'\nc = [3, 1, 2]\n### END SOLUTION", meta("sol", solution=True)),
        ("code", tests, test_meta or meta("t", grade=True, locked=True, points=2)),
        ("code", "d = a + 1  # mentions AUTOTEST, so nbgrader appends its success line", meta("t2", grade=True,
                                                                                           points=1)),
    ])


def nbgraders_expansion(nb, monkeypatch, tmp_path, kernel):
    """nbgrader's own InstantiateTests on ``nb``, its kernel replaced by ``kernel`` (through its own sanitizer)."""
    import yaml
    from nbgrader.preprocessors import instantiatetests

    class Manager:
        def shutdown_kernel(self):
            pass

    (tmp_path / "autotests.yml").write_text(yaml.safe_dump({"python3": AUTOTESTS}))
    monkeypatch.setattr(instantiatetests, "start_new_kernel", lambda **kw: (Manager(), None))
    monkeypatch.setattr(instantiatetests.InstantiateTests, "_execute_code_snippet",
                        lambda self, code: None if (text := kernel(code)) is None else self.sanitizer(text))
    return instantiatetests.InstantiateTests().preprocess(nb, {"metadata": {"path": str(tmp_path)}})[0]


@pytest.mark.parametrize("tests", [
    "### AUTOTEST a; b;\n### AUTOTEST a + 1",
    "x = 1\n#HASHED AUTOTEST c\n  # # AUTOTEST a;;b\nprint(x)\n## HASHED AUTOTEST b; c",
    "### AUTOTEST len(c)\n### BEGIN HIDDEN TESTS\n### HASHED AUTOTEST sorted(c)\n### END HIDDEN TESTS",
])
def test_autotest_directives_expand_exactly_as_nbgraders_instantiate_tests(tests, monkeypatch, tmp_path):
    ours, theirs = FakeKernel(), FakeKernel()
    expanded, _ = InstantiateAutotests(templates=AUTOTESTS, evaluate=ours).preprocess(autotest_notebook(tests), {})
    reference = nbgraders_expansion(autotest_notebook(tests), monkeypatch, tmp_path, theirs)
    assert sources(expanded) == sources(reference)
    assert ours.ran == theirs.ran  # the same code, in the same order, in the kernel
    assert "AUTOTEST" not in expanded.cells[2].source.replace("AUTOTEST a;;b", "")  # every directive replaced
    assert expanded.cells[2].source.endswith("print('Success!')")


def test_an_expanded_test_fails_on_the_released_stub_and_passes_on_the_solution():
    expanded, _ = InstantiateAutotests(templates=AUTOTESTS, evaluate=FakeKernel()).preprocess(
        autotest_notebook("### AUTOTEST a; b\n### HASHED AUTOTEST c"), {})
    test = expanded.cells[2].source
    assert "== \"\"\"5\"\"\"" in test and "sha1(" in test
    solved = {}
    exec("a = 5\nb = 'hi'\nc = [3, 1, 2]\n" + test, solved)
    with pytest.raises(NameError):
        exec(student_version(expanded)[0].cells[1].source.replace("raise NotImplementedError()", "pass") + "\n"
             + test, {})
    wrong = {}
    with pytest.raises(AssertionError, match="values of c are not"):
        exec("a = 5\nb = 'hi'\nc = [3, 1, 4]\n" + test, wrong)


def test_a_notebook_without_directives_never_reaches_a_kernel():
    nb = exercise([("code", "assert True", meta("t", grade=True, points=1))])
    out, _ = InstantiateAutotests(templates={}, evaluate=None).preprocess(copy.deepcopy(nb), {})
    assert out == nb


@pytest.mark.parametrize("tests, test_meta, templates, problem", [
    ("### AUTOTEST a", meta("plain"), AUTOTESTS, "cell 'plain': an AUTOTEST line in a cell that is not graded"),
    ("### HASHED AUTOTEST a", None, {k: v for k, v in AUTOTESTS.items() if k != "hash"},
     "cell 't': a HASHED AUTOTEST line, but autotests.yml has no 'hash' template"),
    ("### AUTOTEST a", None, {k: v for k, v in AUTOTESTS.items() if k != "check"}, "autotests.yml lacks check"),
    ("### AUTOTEST undefined_name", None, AUTOTESTS, "cell 't': the source's code failed"),
])
def test_a_directive_that_cannot_be_expanded_is_refused_naming_the_cell(tests, test_meta, templates, problem):
    fake = FakeKernel()

    def kernel(code):
        try:
            return fake(code)
        except Exception as e:  # what a kernel reports, as KernelEvaluator raises it
            raise AutotestError(f"{type(e).__name__}: {e}") from None

    with pytest.raises(AutotestError) as e:
        InstantiateAutotests(templates=templates, evaluate=kernel).preprocess(autotest_notebook(tests, test_meta), {})
    assert problem in str(e.value)


# -- graded cells without points ----------------------------------------------------------------------------

@pytest.mark.parametrize("points, problem", [
    ("", "its points are empty"), (None, "its points are empty"), ("two", "its points 'two' are not a number"),
    ("missing", "has no points"),
])
def test_a_graded_cell_without_usable_points_is_refused_naming_it(points, problem, tmp_path):
    cell_meta = meta("test_it", grade=True, locked=True, points=1)
    if points == "missing":
        del cell_meta["nbgrader"]["points"]
    else:
        cell_meta["nbgrader"]["points"] = points
    path = tmp_path / "p.ipynb"
    nbformat.write(exercise([("code", "assert True", cell_meta)]), path)
    with pytest.raises(ExerciseError) as e:
        load_exercise(path)
    assert str(e.value) == (f"{path}: cell 'test_it' (cell 0) is graded but {problem}, which nbgrader refuses too; "
                            "give it a number of points (0 if it is worth nothing)")


def test_empty_points_of_the_oldest_metadata_are_0_as_nbgrader_update_makes_them(tmp_path):
    path = tmp_path / "old.ipynb"
    nbformat.write(exercise([("code", "assert True", {"nbgrader": {"grade": True, "grade_id": "t", "points": ""}})]),
                   path)
    assert load_exercise(path).graded == {"t": (0.0, "auto")}


# -- an nbgrader assignment's files --------------------------------------------------------------------------

def test_ignored_names_are_nbgraders():
    assert [n for n in ("data.txt", "x.ipynb", "m.pyc", "__pycache__", "feedback", ".ipynb_checkpoints", ".x.pyc",
                        ".hidden", "notes.ipynb.txt") if ignored(n)] == [
        "x.ipynb", "m.pyc", "__pycache__", "feedback", ".ipynb_checkpoints"]


def test_the_source_wins_over_the_students_files_whatever_their_shape():
    student = [AssignmentFile(n, student=True) for n in ("data.txt", "mine.txt", "tables", "helpers.py/x", "sub/a")]
    source = [AssignmentFile(n) for n in ("data.txt", "tables/size.txt", "helpers.py")]
    assert [(f.name, f.student) for f in merge(student, source)] == [
        ("mine.txt", True), ("sub/a", True), ("data.txt", False), ("tables/size.txt", False), ("helpers.py", False)]


def test_a_students_files_are_listed_without_links_notebooks_or_ignored_folders(tmp_path):
    root = tmp_path / "submitted"
    folder = root / "ann" / "ps1"
    (folder / "sub" / "__pycache__").mkdir(parents=True)
    (folder / "answer.txt").write_text("42")
    (folder / "sub" / "more.csv").write_text("1,2")
    (folder / "sub" / "__pycache__" / "m.cpython-311.pyc").write_bytes(b"x")
    (folder / "p.ipynb").write_text("{}")
    (tmp_path / "secret.txt").write_text("another student's")
    os.symlink(tmp_path / "secret.txt", folder / "link.txt")
    os.mkfifo(folder / "pipe")
    files, problems = student_files(folder, root)
    assert [(f.name, f.student, f.root) for f in files] == [("answer.txt", True, root), ("sub/more.csv", True, root)]
    assert problems == [f"{folder / 'link.txt'}: not put beside the notebook: it is a symbolic link, which the grader "
                        "does not follow",
                        f"{folder / 'pipe'}: not put beside the notebook: it is not a regular file"]


def test_staging_copies_the_sources_first_within_the_cap_and_the_kernel_side_puts_them_in_place(tmp_path,
                                                                                                 monkeypatch):
    source = tmp_path / "source" / "ps1"
    (source / "tables").mkdir(parents=True)
    (source / "data.txt").write_text("42\n")
    (source / "tables" / "size.txt").write_text("7\n")
    (source / "run.sh").write_text("echo hi\n")
    (source / "run.sh").chmod(0o755)
    (source / "p.ipynb").write_text("{}")
    os.symlink(tmp_path / "elsewhere", source / "linked")
    files, problems = source_files(source)
    assert [f.name for f in files] == ["data.txt", "run.sh", "tables/size.txt"]
    assert problems == [f"{source / 'linked'}: not put beside the notebooks: it is a symbolic link, which the grader "
                        "does not follow; put the file itself there"]
    root = tmp_path / "submitted"
    (root / "ann" / "ps1").mkdir(parents=True)
    (root / "ann" / "ps1" / "big.bin").write_bytes(b"x" * 20)
    (root / "ann" / "ps1" / "small.txt").write_text("ok")
    own, _ = student_files(root / "ann" / "ps1", root)
    staged = tmp_path / "run" / "files"
    staged.parent.mkdir()
    notes = stage(merge(own, files), staged, max_bytes=18 + len("42\n7\necho hi\n"))
    assert notes == [f"{root / 'ann' / 'ps1' / 'big.bin'}: not put beside the notebook: the assignment's files "
                     f"would take more than {18 + 13} bytes, half the working directory (grade with a larger "
                     "--work-bytes)"]
    assert sorted(str(p.relative_to(staged)) for p in staged.rglob("*") if p.is_file()) == [
        "data.txt", "run.sh", "small.txt", "tables/size.txt"]
    assert os.access(staged / "run.sh", os.X_OK) and not os.access(staged / "data.txt", os.X_OK)
    work = tmp_path / "work"
    work.mkdir()
    monkeypatch.chdir(work)
    assert json.loads(place(str(staged))) == {"files": 4}
    assert (work / "tables" / "size.txt").read_text() == "7\n" and (work / "small.txt").read_text() == "ok"
    sent, left_out = with_data(merge(own, files), max_bytes=18 + 13)
    assert [f.name for f in sent] == ["data.txt", "run.sh", "tables/size.txt", "small.txt"] and len(left_out) == 1
    assert sent[0].data == b"42\n" and sent[0].path is None


def test_an_empty_timestamp_is_no_timestamp_and_no_flag(tmp_path):
    from grader.intake import _timestamp

    folder = tmp_path / "submitted" / "ann" / "ps1"
    folder.mkdir(parents=True)
    (folder / "timestamp.txt").write_text(" \n")
    assert _timestamp(folder, tmp_path / "submitted") == ("", None)
    (folder / "timestamp.txt").write_text("yesterday-ish")
    assert _timestamp(folder, tmp_path / "submitted")[1].startswith(f"{folder / 'timestamp.txt'} could not be read")


def test_a_student_handing_in_too_many_files_or_links_gets_one_line_each_not_one_per_file(tmp_path, monkeypatch):
    import grader.assignment_files as files_module

    monkeypatch.setattr(files_module, "MAX_FILES", 3)
    monkeypatch.setattr(files_module, "MAX_PROBLEMS", 2)
    folder = tmp_path / "submitted" / "ann" / "ps1"
    folder.mkdir(parents=True)
    for i in range(5):
        (folder / f"f{i}.txt").write_text("x")
        os.symlink(tmp_path, folder / f"l{i}")
    files, problems = student_files(folder, tmp_path / "submitted")
    assert [f.name for f in files] == ["f0.txt", "f1.txt", "f2.txt"]
    assert problems[2:] == [f"{folder}: 3 more file(s) not put beside the notebook (links or not regular files)",
                            f"{folder}: 2 file(s) not put beside the notebook: the student handed in more than 3 "
                            "files with the notebooks"]
    assert len(problems) == 4 and all("is a symbolic link" in p for p in problems[:2])
