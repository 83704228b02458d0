"""Grader hardening: broken files, odd notebooks, runaway code, crashes, cheating, the sandbox, Ctrl-C.

Each class of behaviour is one ``grade.main`` call (a module-scoped fixture) over
submissions from ``tests/files`` (written by ``tests/make_fixtures.py``), named
``a-<behaviour>`` so they are graded before the well-behaved ``z-good``, who must
still get 5/5: one student's code never costs another.  After every call, no
process carrying this test run's marker may be left (:func:`conftest.leftover_processes`);
anything left is reported and killed by PID.
"""

from __future__ import annotations

import contextlib
import json
import os
import re
import shutil
import signal
import sqlite3
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import nbformat
import psutil
import pytest
from nbformat.v4 import new_output

import make_fixtures
from grader.exercise import grade_id
from grader.gradebook import Gradebook
from grader.results import SubmissionResult, TestResult
from support.classes import (
    FILES,
    PATCH,
    TOY,
    TOY_TESTS,
    Run,
    assert_good,
    assert_no_leaks,
    fixture,
    flag_mentions,
    gid_is,
    grade_class,
    make_source,
    marked,
    outputs,
    reap_new,
    rows,
    slow_class,
    statuses,
    students,
    text_of,
)

pytestmark = pytest.mark.timeout(900)


# -- running a class ---------------------------------------------------------------------------------


# -- the fixture files ---------------------------------------------------------------------------------

def test_fixture_files_are_what_make_fixtures_writes(tmp_path):
    assert make_fixtures.main(tmp_path / "a") == 0
    assert make_fixtures.main(tmp_path / "b") == 0
    # what the script writes: notebooks and broken notebooks (tests/files also holds data of other tests)
    stored = {p.name: p.read_bytes() for p in FILES.iterdir() if p.name.endswith((".ipynb", ".ipynb.broken"))}
    first = {p.name: p.read_bytes() for p in (tmp_path / "a").iterdir()}
    second = {p.name: p.read_bytes() for p in (tmp_path / "b").iterdir()}
    assert first == second, "make_fixtures.py is not deterministic"
    assert sorted(first) == sorted(stored), "tests/files is out of date: run python tests/make_fixtures.py"
    stale = [name for name in first if first[name] != stored[name]]
    assert not stale, f"tests/files is out of date for {stale}: run python tests/make_fixtures.py"


def test_fixture_notebooks_are_stored_without_outputs():
    assert sorted(p.name for p in FILES.glob("*.broken")) == sorted(f"{n}.ipynb.broken" for n in UNREADABLE)
    for path in sorted(FILES.glob("*.ipynb")):
        nb = nbformat.read(path, as_version=4)
        for cell in nb.cells:
            if cell.cell_type == "code":
                assert not cell.outputs and cell.execution_count is None, path.name


# -- 1. unreadable and oversized files ---------------------------------------------------------------------

UNREADABLE = ["not-json", "empty", "truncated", "binary", "not-utf8", "deeply-nested"]


@pytest.fixture(scope="module")
def unreadable_class(tmp_path_factory):
    return grade_class(tmp_path_factory.mktemp("unreadable"), students(*UNREADABLE), timeout=30)


@pytest.mark.parametrize("name", UNREADABLE)
def test_unreadable_file_is_an_error_naming_the_file_and_what_to_do(unreadable_class, name):
    run = unreadable_class
    r = run.r(f"a-{name}")
    assert r.status == "error"
    assert str(run.path(f"a-{name}")) in r.message, r.message
    assert "submit" in r.message.lower() or "re-download" in r.message.lower(), r.message
    assert [t.test for t in r.tests] == TOY_TESTS
    assert all(t.points == 0 and t.status == "not-run" for t in r.tests), r.tests
    assert r.total == 0 and r.possible == 5


def test_unreadable_class_returns_1_and_costs_nobody_else(unreadable_class):
    assert unreadable_class.rc == 1
    assert_good(unreadable_class)
    assert_no_leaks(unreadable_class)


def test_a_file_larger_than_max_bytes_is_an_error(tmp_path):
    big = nbformat.reads(fixture("good").decode(), as_version=4)
    big.cells[2].outputs = [new_output("stream", name="stdout", text="0123456789abcdef\n" * 12_000)]
    data = (nbformat.writes(big) + "\n").encode()
    assert len(data) > 150_000
    run = grade_class(tmp_path, {"a-big-output": {TOY: data}, "z-good": {TOY: fixture("good")}},
                      timeout=30, max_bytes=100_000)
    r = run.r("a-big-output")
    assert r.status == "error" and "larger than" in r.message, r.message
    assert str(run.path("a-big-output")) in r.message
    assert all(t.points == 0 and t.status == "not-run" for t in r.tests)
    assert run.rc == 1
    assert_good(run)
    assert_no_leaks(run)


# -- 2 & 3. old formats, wrong kernels, tampered structure -------------------------------------------------

STRUCTURE = ["nbformat3", "wrong-kernel-name", "deleted-test-cell", "deleted-solution-cell", "edited-test-cells",
             "changed-points-metadata", "duplicated-grade-id", "extra-cell-reuses-grade-id", "reordered-cells",
             "extra-cells"]


@pytest.fixture(scope="module")
def structure_class(tmp_path_factory):
    return grade_class(tmp_path_factory.mktemp("structure"), students(*STRUCTURE), timeout=30)


def test_nbformat3_is_upconverted_graded_and_flagged(structure_class):
    r = structure_class.r("a-nbformat3")
    assert r.status == "graded", r.message
    assert r.total == 5, r.tests
    assert any("nbformat 3" in f for f in r.flags), r.flags


def test_wrong_kernel_name_is_graded_with_python_and_flagged(structure_class):
    r = structure_class.r("a-wrong-kernel-name")
    assert r.status == "graded", r.message
    assert r.total == 5, r.tests
    assert any("julia-1.9" in f for f in r.flags), r.flags


def test_deleted_test_cell_is_restored(structure_class):
    r = structure_class.r("a-deleted-test-cell")
    assert [(t.test, t.status) for t in r.tests] == [(t, "passed") for t in TOY_TESTS]
    assert r.total == 5 and r.possible == 5
    assert flag_mentions(r, "q1-hidden"), r.flags


def test_deleted_solution_cell_does_not_get_the_instructors_solution(structure_class):
    run = structure_class
    r = run.r("a-deleted-solution-cell")
    assert statuses(r) == {"q1-public": "passed", "q1-hidden": "passed", "q2-clean": "failed"}, r.tests
    assert r.total == 3
    assert flag_mentions(r, "q2"), r.flags
    q2 = [c for c in run.executed[("a-deleted-solution-cell", TOY)]["cells"] if gid_is("q2")(c)]
    assert all("answer = 42" not in text_of(c["source"]) for c in q2), "the source's solution was put in"


def test_edited_test_cells_are_restored_and_score_nothing(structure_class):
    r = structure_class.r("a-edited-test-cells")
    assert r.total == 0 and r.possible == 5
    assert all(t.status == "failed" for t in r.tests), r.tests
    for gid in TOY_TESTS:
        assert flag_mentions(r, gid), (gid, r.flags)


def test_changed_points_metadata_is_restored(structure_class):
    r = structure_class.r("a-changed-points-metadata")
    assert [t.max_points for t in r.tests] == [1, 2, 2]
    assert r.total == 5 and r.possible == 5
    assert flag_mentions(r, "q1-public") and flag_mentions(r, "q2-clean"), r.flags


def test_duplicated_test_cell_counts_once(structure_class):
    r = structure_class.r("a-duplicated-grade-id")
    assert [t.test for t in r.tests] == TOY_TESTS
    assert r.total == 5 and r.possible == 5
    assert flag_mentions(r, "q1-public"), r.flags


def test_extra_cells_posing_as_tests_count_for_nothing(structure_class):
    r = structure_class.r("a-extra-cell-reuses-grade-id")
    assert [t.test for t in r.tests] == TOY_TESTS
    assert r.total == 0 and r.possible == 5, r.tests
    assert flag_mentions(r, "q2-clean") and flag_mentions(r, "q3-bonus"), r.flags


def test_reordered_cells_are_put_back_in_order(structure_class):
    run = structure_class
    r = run.r("a-reordered-cells")
    assert r.total == 5, r.tests
    assert flag_mentions(r, "q2-clean"), r.flags
    order = [grade_id(nbformat.from_dict(c)) for c in run.executed[("a-reordered-cells", TOY)]["cells"]]
    assert [g for g in order if g] == ["intro", "setup", "q1", "q1-public", "q1-hidden", "q2", "q2-clean"]


def test_ordinary_extra_cells_are_kept_in_place_and_not_flagged(structure_class):
    run = structure_class
    r = run.r("a-extra-cells")
    assert r.total == 5, r.tests
    assert not r.flags, r.flags
    cells = run.executed[("a-extra-cells", TOY)]["cells"]
    sources = [text_of(c["source"]) for c in cells]
    scratch = next(i for i, s in enumerate(sources) if s.startswith("scratch = "))
    assert grade_id(nbformat.from_dict(cells[scratch - 1])) == "q1"
    assert "SCRATCH 45" in outputs(run, "a-extra-cells")
    assert any("My notes" in s for s in sources)


def test_structure_class_costs_nobody_else(structure_class):
    assert structure_class.rc == 0
    assert_good(structure_class)
    assert not structure_class.r("z-good").flags
    assert_no_leaks(structure_class)


# -- 4. runaway code -----------------------------------------------------------------------------------

RUNAWAY = ["infinite-loop", "test-cell-loops-forever", "ignores-sigint", "engine-task-never-returns",
           "prints-forever", "leaves-child-processes"]


@pytest.fixture(scope="module")
def runaway_class(tmp_path_factory):
    # Two workers: most of this class is waiting for timeouts.  Each worker still grades three or more
    # submissions on its two slots, so z-good runs on a slot one of the a-students used before.
    run = grade_class(tmp_path_factory.mktemp("runaway"), students(*RUNAWAY), timeout=5, workers=2)
    yield run
    for pid in _child_pids(run):  # whatever the grader left, by PID, only if it is still our `sleep 600`
        try:
            proc = psutil.Process(pid)
            if proc.cmdline() == ["sleep", "600"]:
                proc.kill()
        except psutil.Error:
            pass


def _child_pids(run: Run) -> list[int]:
    match = re.search(r"CHILD-PIDS (\{.*\})", outputs(run, "a-leaves-child-processes"))
    if not match:
        return []
    found = json.loads(match.group(1))
    return found["kernel"] + found["engines"]


def test_infinite_loop_times_out_its_cell_only(runaway_class):
    run = runaway_class
    r = run.r("a-infinite-loop")
    assert r.status == "graded", r.message
    assert statuses(r) == {"q1-public": "passed", "q1-hidden": "passed", "q2-clean": "failed"}, r.tests
    assert "NameError" in next(t.message for t in r.tests if t.test == "q2-clean")
    assert r.total == 3
    q2 = outputs(run, "a-infinite-loop", where=gid_is("q2"))
    assert q2, "the looping cell recorded no error"


def test_a_test_cell_that_loops_forever_is_a_timeout(runaway_class):
    r = runaway_class.r("a-test-cell-loops-forever")
    assert statuses(r) == {"q1-public": "timeout", "q1-hidden": "passed", "q2-clean": "passed"}, r.tests
    assert r.total == 4


def test_kernel_ignoring_sigint_is_stopped(runaway_class):
    r = runaway_class.r("a-ignores-sigint")
    assert r.status == "graded", r.message
    assert statuses(r) == {"q1-public": "passed", "q1-hidden": "passed", "q2-clean": "not-run"}, r.tests
    assert r.total == 3
    assert "stopped responding" in r.message or any("stopped responding" in f for f in r.flags), (r.message, r.flags)


def test_engine_task_that_never_returns(runaway_class):
    r = runaway_class.r("a-engine-task-never-returns")
    assert r.status == "graded", r.message
    assert statuses(r)["q1-public"] == statuses(r)["q1-hidden"] == "passed"
    assert statuses(r)["q2-clean"] != "passed"
    assert r.total <= 3


def test_printing_forever_is_cut(runaway_class):
    run = runaway_class
    r = run.r("a-prints-forever")
    assert r.status == "graded", r.message
    assert statuses(r) == {"q1-public": "passed", "q1-hidden": "passed", "q2-clean": "failed"}, r.tests
    assert r.total == 3
    with Gradebook(run.book) as gb:
        stored = gb.executed_notebook("a-prints-forever", TOY)
    assert stored is not None and len(stored.encode()) < 2_000_000, len(stored or "")
    assert "[output cut at" in stored


def test_child_processes_are_gone_when_grading_returns(runaway_class):
    run = runaway_class
    r = run.r("a-leaves-child-processes")
    assert r.total == 5, r.tests
    pids = _child_pids(run)
    assert len(pids) == 3 + 3 * 4, outputs(run, "a-leaves-child-processes")[-2000:]
    alive = sorted(set(pids) & set(run.sleepers))
    assert not alive, f"still running after grade.main returned: {alive} of {pids}"


def test_runaway_class_costs_nobody_else(runaway_class):
    assert runaway_class.rc == 0
    assert_good(runaway_class)
    assert_no_leaks(runaway_class)


# Memory hogs get a class of their own with a longer cell timeout and a 1 GiB limit (not the default 2 GiB):
# touching 4 x the limit on two busy cores takes a while, and the point here is the limit, not its size.

@pytest.fixture(scope="module")
def memory_class(tmp_path_factory):
    return grade_class(tmp_path_factory.mktemp("memory"), students("memory-hog-kernel", "memory-hog-engines"),
                       timeout=30, memory=2**30)


@pytest.mark.parametrize("where", ["kernel", "engines"])
def test_memory_hog_gets_a_memory_error(memory_class, where):
    run = memory_class
    student = f"a-memory-hog-{where}"
    r = run.r(student)
    assert r.status == "graded", r.message
    printed = outputs(run, student, where=gid_is("q2"), kinds=("stream",))
    assert not re.search(r"HOG-BOUND-REACHED \d+", printed), f"nothing limited the memory: {printed[-500:]}"
    raised = outputs(run, student, where=gid_is("q2"), kinds=("error",))
    # a process that reaches its share of the box's memory gets a MemoryError; the box's own limit being
    # reached (the out-of-memory killer) ends the submission: either way the message names the limit
    assert "MemoryError" in raised or "memory limit" in r.message, (raised or printed)[-2000:]
    assert "memory limit" in r.message, r.message
    assert statuses(r)["q2-clean"] in ("failed", "not-run") and r.total == 3, r.tests


def test_memory_class_costs_nobody_else(memory_class):
    assert memory_class.rc == 0
    assert_good(memory_class)
    assert_no_leaks(memory_class)


# -- 5. crashes ------------------------------------------------------------------------------------------

CRASHES = ["kernel-exits", "kernel-sigkills-itself", "engines-os-exit", "client-shutdown"]


@pytest.fixture(scope="module")
def crash_class(tmp_path_factory):
    return grade_class(tmp_path_factory.mktemp("crashes"), students(*CRASHES), timeout=5)


@pytest.mark.parametrize("name", ["kernel-exits", "kernel-sigkills-itself"])
def test_dead_kernel_ends_the_run_not_the_grading(crash_class, name):
    r = crash_class.r(f"a-{name}")
    assert r.status == "graded", r.message
    assert statuses(r) == {"q1-public": "passed", "q1-hidden": "passed", "q2-clean": "not-run"}, r.tests
    assert r.total == 3
    assert "kernel died" in r.message.lower(), r.message


@pytest.mark.parametrize("name", ["engines-os-exit", "client-shutdown"])
def test_dead_engines_cost_only_the_tests_after(crash_class, name):
    r = crash_class.r(f"a-{name}")
    assert r.status == "graded", r.message
    assert statuses(r)["q1-public"] == statuses(r)["q1-hidden"] == "passed", r.tests
    assert statuses(r)["q2-clean"] != "passed"
    assert r.total <= 3


def test_crash_class_costs_nobody_else(crash_class):
    assert crash_class.rc == 0
    assert_good(crash_class)
    assert_no_leaks(crash_class)


# -- 6. cheating -------------------------------------------------------------------------------------------

CHEATING_TOY = ["input-transformer-blanks-cells", "ast-transformer-drops-asserts", "overrides-showtraceback",
                "fake-pass-messages", "forges-execute-replies", "exits-before-tests", "os-exit-0-before-tests"]
CHEATING_PATCH = ["patches-helpers", "patches-builtins", "shadows-builtins"]
CODE_CHANGED = {"input-transformer-blanks-cells", "ast-transformer-drops-asserts", "overrides-showtraceback",
                "patches-helpers", "patches-builtins"}


@pytest.fixture(scope="module")
def cheating_class(tmp_path_factory):
    chosen = students(*CHEATING_TOY)
    chosen.update(students(*CHEATING_PATCH, exercise=PATCH, good=False))
    chosen["z-good"][PATCH] = fixture("good-02-patch")
    return grade_class(tmp_path_factory.mktemp("cheating"), chosen, exercises=(TOY, PATCH), timeout=5)


@pytest.mark.parametrize("name", CHEATING_TOY + CHEATING_PATCH)
def test_cheating_scores_nothing(cheating_class, name):
    exercise = PATCH if name in CHEATING_PATCH else TOY
    r = cheating_class.r(f"a-{name}", exercise)
    assert r.status == "graded", r.message
    assert r.total == 0, r.tests
    assert not any(t.status == "passed" for t in r.tests), r.tests
    if name in CODE_CHANGED:
        assert any("student code changed" in f for f in r.flags), r.flags


def test_cheating_class_costs_nobody_else(cheating_class):
    assert cheating_class.rc == 0
    assert_good(cheating_class)
    assert_good(cheating_class, exercise=PATCH)
    assert_no_leaks(cheating_class)


# -- 7. the sandbox ------------------------------------------------------------------------------------------

READS = ["READ-SOURCE", "LIST-SOURCE-DIR", "READ-GRADEBOOK", "QUERY-GRADEBOOK"]
WRITES = ["WRITE-GRADEBOOK", "OPEN-GRADEBOOK-FOR-WRITING", "CREATE-FILE-NEXT-TO-GRADEBOOK"]
SEEDED = SubmissionResult("m-seeded", TOY, "seeded.ipynb", "0" * 64, max_points=5, started="s", finished="f",
                          tests=[TestResult("q1-public", 1, 1, "passed"), TestResult("q1-hidden", 0.5, 2, "passed"),
                                 TestResult("q2-clean", 0, 2, "failed", "AssertionError")])

root_only = pytest.mark.skipif(os.geteuid() != 0, reason="the sandbox only applies when the grader runs as root")


@pytest.fixture(scope="module")
def sandbox_class():
    # A place laid out like an instructor's: directories 0755, files 0644, nothing hidden by permissions alone,
    # and not under /tmp (which a sandbox may replace wholesale, hiding the files for the wrong reason).
    shared = Path("/var/tmp")
    top = Path(tempfile.mkdtemp(prefix="hardening-sandbox-", dir=shared if os.access(shared, os.W_OK) else None))
    try:
        top.chmod(0o755)
        source = make_source(top / "source")
        book = top / "book" / "gradebook.sqlite"
        book.parent.mkdir()
        with Gradebook(book) as gb:
            gb.record(SEEDED, '{"cells": []}')
        chosen = {}
        for name in make_fixtures.SANDBOX_FILES:
            text = fixture(name).decode()
            text = text.replace("@SOURCE@", str(source / f"{TOY}.ipynb")).replace("@GRADEBOOK@", str(book))
            chosen[f"a-{name}"] = {TOY: text.encode()}
        chosen["z-good"] = {TOY: fixture("good")}
        for path in top.rglob("*"):
            path.chmod(0o755 if path.is_dir() else 0o644)
        yield grade_class(top, chosen, source=source, book=book, timeout=30)
    finally:
        shutil.rmtree(top, ignore_errors=True)


@root_only
def test_sandbox_blocks_reading_the_source_and_the_gradebook(sandbox_class):
    run = sandbox_class
    out = outputs(run, "a-reads-instructor-files")
    for label in READS:
        assert f"{label}: BLOCKED" in out and f"{label}-OK" not in out, (label, out[-3000:])
    assert "### BEGIN SOLUTION" not in out and "HIDDEN-MARKER" not in out and "m-seeded" not in out
    assert run.r("a-reads-instructor-files").total == 5


@root_only
def test_sandbox_search_finds_nothing_of_this_run(sandbox_class):
    """Walking up from the working directory finds neither the source nor the gradebook's folder."""
    run = sandbox_class
    out = outputs(run, "a-reads-instructor-files")
    assert "SEARCH-FOUND" in out or "SEARCH: nothing found" in out, f"the search did not run: {out[-2000:]}"
    top = str(run.book.parent.parent)
    leaked = [line for line in out.splitlines() if line.startswith("SEARCH-FOUND") and top in line]
    assert not leaked, leaked


@root_only
def test_sandbox_blocks_writing_the_gradebook(sandbox_class):
    run = sandbox_class
    out = outputs(run, "a-writes-gradebook")
    for label in WRITES:
        assert f"{label}: BLOCKED" in out and f"{label}-OK" not in out, (label, out[-3000:])
    assert not (run.book.parent / "planted-by-student.txt").exists()
    seeded = run.r("m-seeded")
    assert [(t.test, t.points, t.status) for t in seeded.tests] == [(t.test, t.points, t.status) for t in SEEDED.tests]
    assert seeded.total == 1.5
    assert run.r("a-reads-instructor-files").total == 5 and len(run.r("a-reads-instructor-files").tests) == 3
    with contextlib.closing(sqlite3.connect(run.book)) as db:
        assert db.execute("SELECT MAX(points) FROM submissions").fetchone()[0] <= 5
    assert run.r("a-writes-gradebook").total == 5


@root_only
def test_sandbox_class_costs_nobody_else(sandbox_class):
    assert sandbox_class.rc == 0
    assert_good(sandbox_class)
    assert_no_leaks(sandbox_class)


def test_sandbox_off_is_announced(tmp_path, capsys):
    run = grade_class(tmp_path, {"z-good": {TOY: fixture("good")}}, capture=False, quiet=False, sandbox=False,
                      timeout=30)
    captured = capsys.readouterr()
    assert "sandbox: off" in captured.out + captured.err
    assert_good(run)
    assert_no_leaks(run)


# -- 8. Ctrl-C ------------------------------------------------------------------------------------------


def signal_masks(pid: int) -> str:
    """What /proc says of each thread of ``pid``: signals pending, blocked, ignored and caught (hex masks)."""
    lines = []
    for task in sorted(Path(f"/proc/{pid}/task").glob("*")):
        with contextlib.suppress(OSError):
            fields = dict(line.split(":\t", 1) for line in (task / "status").read_text().splitlines() if ":\t" in line)
            lines.append(f"  {task.name} {fields.get('Name', '').strip()}: " + " ".join(
                f"{k}={fields.get(k, '').strip()}" for k in ("SigPnd", "ShdPnd", "SigBlk", "SigIgn", "SigCgt")))
    return "\n".join(lines)


def sigint_as_in_a_terminal() -> None:
    """In the grader's process before it execs: SIGINT's default disposition, which a terminal gives the command it
    runs.  A test run started in the background by a shell without job control (``pytest &`` in a script) ignores
    SIGINT, its children inherit that, and a Python started with SIGINT ignored installs no KeyboardInterrupt handler
    (as every Unix command should, it leaves it ignored): the grader would rightly ignore the Ctrl-C sent below and
    finish with exit 0 (a suite run started so failed that way: all its threads' SigIgn had SIGINT's bit set)."""
    signal.signal(signal.SIGINT, signal.SIG_DFL)


def test_ctrl_c_stops_cleanly_and_a_rerun_grades_the_rest(tmp_path):
    source, subs, book = slow_class(tmp_path)
    cmd = [sys.executable, "-m", "grader", "grade", str(subs), "--source", str(source), "--gradebook", str(book),
           "--quiet", "--timeout", "30", "--workers", "2"]  # two workers: both are stopped, each once
    before = marked()
    with open(tmp_path / "out.txt", "wb") as out, open(tmp_path / "err.txt", "wb") as err:
        proc = subprocess.Popen(cmd, stdout=out, stderr=err, start_new_session=True,
                                preexec_fn=sigint_as_in_a_terminal)
    code, stuck, leaks, at_signal = None, [], [], ""
    try:
        deadline = time.monotonic() + 240
        while rows(book) < 1:
            assert proc.poll() is None, "the grader exited before recording anything"
            assert time.monotonic() < deadline, "the first submission was never recorded"
            time.sleep(0.1)
        at_signal = f"{rows(book)} of 3 recorded and the grader {'running' if proc.poll() is None else 'done'}"
        os.kill(proc.pid, signal.SIGINT)
        time.sleep(0.5)
        at_signal += "; half a second later, its threads' signal masks:\n" + signal_masks(proc.pid)
        try:
            code = proc.wait(60)
        except subprocess.TimeoutExpired:
            with contextlib.suppress(psutil.Error):
                stuck = [f"pid {c.pid}: {' '.join(c.cmdline())[:160]}"
                         for c in [psutil.Process(proc.pid), *psutil.Process(proc.pid).children(recursive=True)]]
    finally:
        if proc.poll() is None:
            os.killpg(proc.pid, signal.SIGKILL)
            proc.wait(30)
        leaks = reap_new(before, grace=5)
    stderr = (tmp_path / "err.txt").read_text()
    assert code is not None, ("the grader did not stop within 60 s of Ctrl-C; still running then:\n"
                              + "\n".join(stuck) + "\nit printed:\n" + stderr[-2000:])
    assert code == 130, f"exit {code} after Ctrl-C (sent with {at_signal}); it printed:\n{stderr[-2000:]}"
    assert "run the same command again" in stderr, stderr[-2000:]
    assert not leaks, "processes left after Ctrl-C (killed now):\n" + "\n".join(leaks)

    with Gradebook(book) as gb:
        done = {(r.student, r.exercise): r.finished for r in gb.submissions()}
    assert 1 <= len(done) < 3
    before = marked()
    try:
        again = subprocess.run(cmd, capture_output=True, text=True, timeout=300)
    finally:
        leaks = reap_new(before)
    assert again.returncode == 0, again.stderr[-2000:]
    assert not leaks, "processes left by the rerun (killed now):\n" + "\n".join(leaks)
    with contextlib.closing(sqlite3.connect(book)) as db:
        counts = db.execute("SELECT student, exercise, COUNT(*) FROM submissions GROUP BY 1, 2").fetchall()
        tests = db.execute("SELECT student, COUNT(*) FROM tests GROUP BY 1").fetchall()
    assert sorted(counts) == [(s, TOY, 1) for s in ("s1", "s2", "s3")]
    assert sorted(tests) == [(s, 3) for s in ("s1", "s2", "s3")]
    with Gradebook(book) as gb:
        got = {(r.student, r.exercise): r for r in gb.submissions()}
    assert all(r.total == 5 and r.status == "graded" for r in got.values()), got
    assert all(got[k].finished == v for k, v in done.items()), "a submission graded before Ctrl-C was graded again"
