"""Issue 9 hardening: reading never aborts a run, submissions are plain files, outputs are capped, run roots go.

Classes are graded with :func:`test_hardening.grade_class` (``a-<behaviour>`` students before the
well-behaved ``z-good``, who must keep 5/5); everything else here needs no kernel.
"""

from __future__ import annotations

import contextlib
import hashlib
import json
import logging
import os
import pwd
import socket
import sqlite3
import stat
import subprocess
import sys
import time
from pathlib import Path

import jsonschema
import nbformat
import psutil
import pytest
from nbformat.v4 import new_code_cell, new_output

import make_fixtures
from grader import feedback, grading, intake
from grader.capped import REMOVED, write_capped
from grader.exercise import load_exercises
from grader.gradebook import Gradebook
from grader.options import GradingOptions
from grader.preprocessors.execute_submission import ExecuteSubmission
from procbox import rundirs
from support.builders import write
from support.classes import (
    TOY,
    TOY_TESTS,
    assert_good,
    assert_no_leaks,
    fixture,
    grade_class,
    make_source,
    marked,
    reap_new,
    rows,
    slow_class,
    statuses,
)

pytestmark = pytest.mark.timeout(900)


def sha(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


# -- 1. reading a submission never aborts the run --------------------------------------------------------

NOT_NOTEBOOKS = {
    "brackets": b"[" * 200_000,
    "nested-500": b'{"nbformat": 4, "nbformat_minor": 5, "metadata": {"x": ' + b"[" * 500 + b"]" * 500
                  + b'}, "cells": []}',
    "a-list": b"[1, 2, 3]",
    "a-number": b"4",
    "nbformat-true": b'{"nbformat": true, "cells": []}',
    "cells-not-a-list": b'{"nbformat": 4, "nbformat_minor": 5, "metadata": {}, "cells": 5}',
    "cells-a-dict": b'{"nbformat": 4, "nbformat_minor": 5, "metadata": {}, "cells": {"a": 1}}',
    "cell-a-string": b'{"nbformat": 4, "nbformat_minor": 5, "metadata": {}, "cells": ["x"]}',
    "worksheets-a-number": b'{"nbformat": 3, "nbformat_minor": 0, "metadata": {}, "worksheets": 7}',
    "kernelspec-a-string": b'{"nbformat": 4, "nbformat_minor": 5, "metadata": {"kernelspec": "x"}, "cells": []}',
}


def _assert_row_message(message: str, path: Path) -> None:
    assert str(path) in message, message
    assert any(w in message.lower() for w in ("submit", "re-download")), message


@pytest.mark.parametrize("name", sorted(NOT_NOTEBOOKS))
def test_read_submission_turns_odd_json_into_a_submission_error(tmp_path, name):
    path = tmp_path / f"{name}.ipynb"
    path.write_bytes(NOT_NOTEBOOKS[name])
    with pytest.raises(intake.SubmissionError) as caught:
        intake.read_submission(path)
    _assert_row_message(str(caught.value), path)


class Unprintable(Exception):
    def __str__(self):
        raise RecursionError("even the message is too deep")


FAILURES = {  # (what to patch, what it raises)
    "json-memory": ("json.loads", MemoryError()),
    "json-recursion": ("json.loads", RecursionError("maximum recursion depth exceeded")),
    "reads-recursion": ("nbformat.reads", RecursionError("maximum recursion depth exceeded")),
    "reads-unprintable": ("nbformat.reads", Unprintable()),
    "reads-keyerror": ("nbformat.reads", KeyError("cells")),
    "validate-schema": ("nbformat.validate", jsonschema.ValidationError("x" * 10**6 + " is not valid")),
    "clear-outputs": ("nbconvert.preprocessors.ClearOutputPreprocessor.preprocess", AttributeError("outputs")),
}


@pytest.mark.parametrize("name", sorted(FAILURES))
def test_read_submission_turns_any_failure_into_a_submission_error(tmp_path, monkeypatch, name):
    target, error = FAILURES[name]

    def fail(*args, **kwargs):
        raise error

    monkeypatch.setattr(target, fail)
    path = tmp_path / f"{TOY}.ipynb"
    path.write_bytes(fixture("good"))
    with pytest.raises(intake.SubmissionError) as caught:
        intake.read_submission(path)
    _assert_row_message(str(caught.value), path)
    assert len(str(caught.value)) < 1000


def test_read_submission_parses_the_bytes_whose_checksum_it_was_given(tmp_path):
    path = tmp_path / f"{TOY}.ipynb"
    path.write_bytes(fixture("good"))
    checksum = sha(path)
    nb, flags = intake.read_submission(path, checksum=checksum, root=tmp_path)
    assert len(nb.cells) > 3 and flags == []
    path.write_bytes(fixture("stub"))  # replaced after discover looked at it
    with pytest.raises(intake.SubmissionError, match="changed while the grader was reading it"):
        intake.read_submission(path, checksum=checksum, root=tmp_path)


def test_grade_one_never_lets_a_reading_failure_escape(tmp_path, monkeypatch):
    def boom(*args, **kwargs):
        raise ZeroDivisionError("not a SubmissionError")

    monkeypatch.setattr(grading, "read_submission", boom)
    ex = make_fixtures.toy()
    path = tmp_path / f"{TOY}.ipynb"
    path.write_bytes(fixture("good"))
    sub = intake.Submission("ada", TOY, path, sha(path), root=tmp_path)
    result, executed = grading.grade_one(None, sub, ex, None, GradingOptions(timeout=30), more_to_come=False)
    assert result.status == "error" and executed is None
    _assert_row_message(result.message, path)
    assert [(t.test, t.status) for t in result.tests] == [(t, "not-run") for t in TOY_TESTS]


# -- 2. submissions are plain files in the student's folder -------------------------------------------------

def _link_class(tmp: Path) -> tuple[Path, Path, dict]:
    """A class of link tricks next to z-good; returns (source dir, submissions dir, {student: what it links to})."""
    source = make_source(tmp / "source")
    subs = tmp / "subs"
    good = subs / "z-good" / f"{TOY}.ipynb"
    good.parent.mkdir(parents=True)
    good.write_bytes(fixture("good"))
    targets = {
        "a-link-to-source": source / f"{TOY}.ipynb",
        "a-link-to-neighbour": good,
        "a-relative-link-to-neighbour": Path("..") / "z-good" / f"{TOY}.ipynb",
    }
    for student, target in targets.items():
        (subs / student).mkdir()
        (subs / student / f"{TOY}.ipynb").symlink_to(target)
    (subs / "a-folder-link").symlink_to(subs / "z-good", target_is_directory=True)
    targets["a-folder-link"] = subs / "z-good"
    (subs / "a-fifo").mkdir()
    os.mkfifo(subs / "a-fifo" / f"{TOY}.ipynb")
    elsewhere = tmp / "elsewhere" / f"{TOY}.ipynb"  # someone else's copy of a solved notebook, outside the class
    elsewhere.parent.mkdir()
    elsewhere.write_bytes(fixture("good"))
    (subs / "a-hard-link").mkdir()
    os.link(elsewhere, subs / "a-hard-link" / f"{TOY}.ipynb")
    targets["a-hard-link"] = elsewhere
    (subs / "a-hard-link-to-source").mkdir()
    os.link(source / f"{TOY}.ipynb", subs / "a-hard-link-to-source" / f"{TOY}.ipynb")
    targets["a-hard-link-to-source"] = source / f"{TOY}.ipynb"
    return source, subs, targets


@pytest.fixture(scope="module")
def link_class(tmp_path_factory):
    tmp = tmp_path_factory.mktemp("links")
    source, subs, targets = _link_class(tmp)
    checksums = {student: sha(target if target.is_absolute() else subs / student / target)
                 for student, target in targets.items() if not target.is_dir()}
    checksums["source"] = sha(source / f"{TOY}.ipynb")
    run = grade_class(tmp, {}, source=source, timeout=30)
    return run, targets, checksums


LINKERS = ["a-link-to-source", "a-link-to-neighbour", "a-relative-link-to-neighbour", "a-folder-link", "a-fifo",
           "a-hard-link", "a-hard-link-to-source"]


@pytest.mark.parametrize("student", LINKERS)
def test_links_fifos_and_hard_links_are_error_rows(link_class, student):
    run, targets, checksums = link_class
    r = run.r(student)
    assert r.status == "error", (r.status, r.total, r.message)
    where = run.subs / student if student == "a-folder-link" else run.path(student)
    assert str(where) in r.message, r.message
    assert "submit" in r.message and ("link" in r.message or "regular file" in r.message), r.message
    assert r.total == 0 and r.possible == 5
    assert [(t.test, t.status) for t in r.tests] == [(t, "not-run") for t in TOY_TESTS]
    assert r.checksum == "", "the grader read what the link points to"
    assert r.checksum not in checksums.values()


def test_nothing_is_read_through_a_link(link_class):
    run, targets, checksums = link_class
    with contextlib.closing(sqlite3.connect(run.book)) as db:
        rows = db.execute("SELECT student, checksum, executed_nb FROM submissions").fetchall()
    assert checksums["source"] not in {c for _, c, _ in rows}
    assert [s for s, _, nb in rows if nb] == ["z-good"], "only z-good was executed"


def test_the_linked_to_student_is_graded_once_with_full_marks(link_class):
    run, _, _ = link_class
    assert_good(run)
    assert sorted(run.results) == sorted((s, TOY) for s in [*LINKERS, "z-good"])
    assert run.r("z-good").checksum == sha(run.path("z-good"))
    assert run.rc == 1
    assert_no_leaks(run)


def test_discover_rejects_every_kind_of_non_file_without_opening_it(tmp_path, monkeypatch):
    source = make_source(tmp_path / "source")
    subs = tmp_path / "subs"
    bob = subs / "bob"
    (bob / "work").mkdir(parents=True)
    (bob / "work" / "notes.txt").write_text("mine")
    (bob / "secrets").symlink_to("/etc", target_is_directory=True)  # a link to a folder, inside the folder
    (bob / "dangling.ipynb").symlink_to(tmp_path / "nowhere.ipynb")
    monkeypatch.chdir(bob)  # a unix socket's path must be short: bind it relative to here
    sock = socket.socket(socket.AF_UNIX)
    sock.bind(f"{TOY}.ipynb")
    kinds = {"bob": "socket"}
    carl = subs / "carl"
    carl.mkdir()
    with contextlib.suppress(PermissionError):  # needs root (and CAP_MKNOD)
        os.mknod(carl / f"{TOY}.ipynb", stat.S_IFCHR | 0o600, os.makedev(1, 3))  # what /dev/null is
        kinds["carl"] = "device"
    exercises = load_exercises(source)
    opened = []
    real_open = os.open

    def spy(path, *args, **kwargs):
        opened.append(os.fsdecode(path))
        return real_open(path, *args, **kwargs)

    monkeypatch.setattr(os, "open", spy)
    try:
        found, errors = intake.discover(subs, exercises)
    finally:
        sock.close()
    assert found == []
    rows = {(e.student, e.exercise): e for e in errors}
    for student, kind in kinds.items():
        r = rows[(student, TOY)]
        assert f"is a {kind}" in r.message and str(subs / student / f"{TOY}.ipynb") in r.message, r.message
        assert r.checksum == "" and r.possible == 5
    assert "symbolic link" in rows[("bob", "secrets")].message
    assert "symbolic link" in rows[("bob", "dangling")].message
    assert "no exercise of that name" in rows[("bob", "notes.txt")].message
    assert rows[("bob", "notes.txt")].checksum == hashlib.sha256(b"mine").hexdigest()
    assert opened and all(name in ("bob", "work", "notes.txt") or Path(name) == subs for name in opened), opened


def test_discover_turns_a_file_it_cannot_read_into_its_row(tmp_path, monkeypatch):
    source = make_source(tmp_path / "source")
    subs = tmp_path / "subs"
    for student in ("ada", "bob"):
        write(nbformat.reads(fixture("good").decode(), as_version=4), subs / student / f"{TOY}.ipynb")
    real_sha = intake.sha256

    def flaky(path, root=None):
        if "ada" in str(path):
            raise OSError(5, "Input/output error")
        return real_sha(path, root)

    monkeypatch.setattr(intake, "sha256", flaky)
    found, errors = intake.discover(subs, load_exercises(source))
    assert [(s.student, s.exercise) for s in found] == [("bob", TOY)]
    assert len(errors) == 1 and errors[0].student == "ada" and "Input/output error" in errors[0].message
    _assert_row_message(errors[0].message, subs / "ada" / f"{TOY}.ipynb")


def test_names_that_are_not_utf8_are_stored_and_printed(tmp_path):
    source = make_source(tmp_path / "source")
    subs = tmp_path / "subs"
    folder = Path(os.fsdecode(os.fsencode(str(subs)) + b"/stud\xffent"))
    folder.mkdir(parents=True)
    (folder / os.fsdecode(b"not\xfe.txt")).write_text("x")
    found, errors = intake.discover(subs, load_exercises(source))
    assert found == [] and len(errors) == 1
    row = errors[0]
    assert row.student == "stud\\xffent" and row.exercise == "not\\xfe.txt"
    row.message.encode("utf-8")  # no lone surrogates: it can be stored and printed
    with Gradebook(tmp_path / "book.sqlite") as gb:
        gb.record(row)
        assert gb.submissions()[0].student == "stud\\xffent"


# -- 3. every output is capped ----------------------------------------------------------------------------

HUGE = 20_000_000


def _huge_errors() -> bytes:
    nb = make_fixtures.good()
    make_fixtures.set_source(nb, "q1", f"def engine_pids():\n    raise ValueError('x' * {HUGE})")  # q1's two tests
    make_fixtures.insert_after(nb, "q2", f"raise RuntimeError('y' * {HUGE})")
    return make_fixtures._text(nb).encode()


@pytest.fixture(scope="module")
def huge_error_class(tmp_path_factory):
    tmp = tmp_path_factory.mktemp("huge-errors")
    run = grade_class(tmp, {"a-huge-errors": {TOY: _huge_errors()}, "z-good": {TOY: fixture("good")}}, timeout=60)
    assert feedback.main(gradebook=run.book, out=tmp / "feedback") == 0
    return run, tmp / "feedback"


def test_huge_error_messages_are_cut_in_the_gradebook(huge_error_class):
    run, _ = huge_error_class
    r = run.r("a-huge-errors")
    assert r.status == "graded", r.message
    assert statuses(r) == {"q1-public": "failed", "q1-hidden": "failed", "q2-clean": "passed"}, r.tests
    assert r.total == 2
    for t in r.tests[:2]:
        assert t.message.startswith("ValueError: xxx") and "[cut: 20000000 characters in all]" in t.message
        assert len(t.message) < 10_000
    with contextlib.closing(sqlite3.connect(run.book)) as db:
        row = db.execute("SELECT length(executed_nb) + length(message) + length(flags) FROM submissions "
                         "WHERE student = 'a-huge-errors'").fetchone()[0]
        tests = db.execute("SELECT sum(length(message)) FROM tests WHERE student = 'a-huge-errors'").fetchone()[0]
    assert row + tests < 1_000_000, (row, tests)
    errors = [out for cell in run.executed[("a-huge-errors", TOY)]["cells"] for out in cell.get("outputs", [])
              if out["output_type"] == "error"]
    assert [e["ename"] for e in errors] == ["ValueError", "ValueError", "RuntimeError"]
    for e in errors:
        assert e["evalue"].endswith("... [cut: 20000000 characters in all]"), e["evalue"][-100:]
        assert len(json.dumps(e)) < 110_000


def test_huge_error_messages_are_cut_in_the_feedback(huge_error_class):
    run, out = huge_error_class
    page = out / "a-huge-errors" / f"{TOY}.html"
    assert page.stat().st_size < 1_000_000, page.stat().st_size
    assert "[cut: 20000000 characters in all]" in page.read_text()
    assert (out / "a-huge-errors" / f"{TOY}.results.json").stat().st_size < 100_000


def test_huge_error_class_costs_nobody_else(huge_error_class):
    run, _ = huge_error_class
    assert run.rc == 0
    assert_good(run)
    assert_no_leaks(run)


def _message(kind: str, **content) -> dict:
    return {"msg_type": kind, "header": {"msg_type": kind}, "parent_header": {"msg_id": "m"}, "content": content}


def test_error_outputs_of_a_cell_stay_under_max_output_chars():
    """Errors in a loop (``showtraceback`` called again and again), huge fields, forged messages: all capped."""
    ex = ExecuteSubmission(max_output_chars=10_000)
    ex.reset_execution_trackers()
    ex.nb, ex._chars, ex.clear_before_next_output = nbformat.v4.new_notebook(), 0, False
    outs: list = []
    for _ in range(50):
        ex.output(outs, _message("error", ename="E" * 10**5, evalue="v" * 10**5, traceback=["t" * 3000] * 10), None, 0)
    ex.output(outs, _message("error", evalue={"not": "text"}, traceback="one line, not a list"), None, 1)
    ex.output(outs, _message("stream", text="a stream without a name"), None, 1)  # forged: dropped, no crash
    ex.output(outs, _message("display_data", data={"text/plain": "a"}, metadata={"m": "z" * 20_000}), None, 1)
    first, note, other, cut = outs
    assert first.output_type == "error" and len(json.dumps(first)) < 10_500
    assert first.ename.endswith("[cut: 100000 characters in all]") and first.evalue.startswith("vvv")
    assert first.traceback[-1].startswith("... [traceback cut at 10000 characters]")
    assert note.output_type == "stream" and "errors cut at 10000 characters" in note.text
    assert (other.ename, other.evalue, other.traceback) == ("", "{'not': 'text'}", ["one line, not a list"])
    assert cut.output_type == "stream" and "output cut at 10000 characters" in cut.text


def test_an_executed_notebook_larger_than_the_cap_loses_its_largest_outputs_first():
    nb = nbformat.reads(fixture("good").decode(), as_version=4)
    sizes = {2: 3_000_000, 3: 2_000_000, 5: 1_000}
    for index, n in sizes.items():
        nb.cells[index].outputs = [new_output("stream", name="stdout", text=f"cell {index} " + "z" * n)]
    text = write_capped(nb, max_bytes=4_000_000)
    assert len(text.encode()) <= 4_000_000
    cells = nbformat.reads(text, as_version=4).cells
    note = cells[2].outputs[0].text
    assert note.startswith(REMOVED) and "more than the 4000000-byte limit" in note, note
    assert cells[3].outputs[0].text.startswith("cell 3 zzz")  # dropping the largest was enough
    assert cells[5].outputs[0].text.startswith("cell 5 zzz")


def test_an_executed_notebook_too_large_without_outputs_is_still_written():
    nb = nbformat.reads(fixture("good").decode(), as_version=4)
    nb.cells.append(new_code_cell("# " + "q" * 3_000_000))
    nb.metadata["widgets"] = {"application/vnd.jupyter.widget-state+json": {
        "state": {"w": {"model_name": "w" * 2_000_000}}, "version_major": 2, "version_minor": 0}}
    text = write_capped(nb, max_bytes=1_000_000)
    assert len(text.encode()) <= 1_000_000
    after = nbformat.reads(text, as_version=4)
    assert "widgets" not in after.metadata and after.cells[-1].source.startswith(REMOVED)
    tiny = write_capped(nbformat.reads(fixture("good").decode(), as_version=4), max_bytes=100)
    assert REMOVED in tiny  # not even one cell fits: a notebook saying so


# -- 4. nothing stays behind a killed grader ----------------------------------------------------------------

def _owner_file(root: Path, record: dict) -> None:
    root.mkdir(mode=0o711)
    (root / rundirs.OWNER_FILE).write_text(json.dumps(record))


def _dead_owner() -> dict:
    proc = subprocess.Popen(["true"])
    record = {"pid": proc.pid, "create_time": psutil.Process(proc.pid).create_time(),
              "pidns": rundirs.owner_record()["pidns"]}
    proc.wait()
    return record


def test_run_root_records_its_owner_and_goes_on_exit(tmp_path):
    with rundirs.run_root(dir=tmp_path) as root:
        assert root.parent == tmp_path and root.name.startswith(rundirs.PREFIX)
        assert stat.S_IMODE(root.stat().st_mode) == 0o711
        record = rundirs.read_owner(root)
        assert record["pid"] == os.getpid() and rundirs.owner_alive(record)
        sock = socket.socket(socket.AF_UNIX)
        try:
            sock.bind(str(root / "s"))
        finally:
            sock.close()
        (root / "deep" / "er").mkdir(parents=True)
        (root / "deep" / "er" / "f").write_text("x")
        if os.geteuid() == 0:
            nobody = pwd.getpwnam("nobody")
            os.chown(root / "deep" / "er" / "f", nobody.pw_uid, nobody.pw_gid)
        assert rundirs.sweep_stale(dir=tmp_path) == []  # its owner is alive
    assert not root.exists()
    with pytest.raises(KeyError), rundirs.run_root(dir=tmp_path) as root:
        raise KeyError("the run failed")
    assert not root.exists()


def test_sweep_removes_only_roots_whose_owner_is_gone(tmp_path, monkeypatch, capsys):
    me = rundirs.owner_record()
    dead, reused = tmp_path / "grader-dead", tmp_path / "grader-reused"
    _owner_file(dead, _dead_owner())
    (dead / "worker-0" / "a").mkdir(parents=True)
    _owner_file(reused, {**me, "create_time": me["create_time"] - 3600})  # our PID, but not us: a reused PID
    kept = {
        "alive": {**me},
        "other-namespace": {**_dead_owner(), "pidns": "pid:[1]"},
    }
    for name, record in kept.items():
        _owner_file(tmp_path / f"grader-{name}", record)
    (tmp_path / "grader-no-owner").mkdir()  # being made right now, or not ours: no record, left alone
    (tmp_path / "grader-garbled").mkdir()
    (tmp_path / "grader-garbled" / rundirs.OWNER_FILE).write_text("{not json")
    elsewhere = tmp_path / "elsewhere"
    _owner_file(elsewhere, _dead_owner())
    (tmp_path / "grader-link").symlink_to(elsewhere, target_is_directory=True)  # never followed
    (tmp_path / "unrelated-dead").mkdir()
    (tmp_path / "unrelated-dead" / rundirs.OWNER_FILE).write_text(json.dumps(_dead_owner()))
    if os.geteuid() == 0:
        nobody = pwd.getpwnam("nobody")
        _owner_file(tmp_path / "grader-someone-else", _dead_owner())
        os.chown(tmp_path / "grader-someone-else", nobody.pw_uid, nobody.pw_gid)
    before = sorted(p.name for p in tmp_path.iterdir())

    monkeypatch.setattr("tempfile.tempdir", str(tmp_path))  # where `course cluster stop` sweeps
    from course import cli

    assert cli.main(["cluster", "stop", "--profile", "hardening-no-such-profile"]) == 0
    assert "Removed 2 run directories" in capsys.readouterr().out
    after = sorted(p.name for p in tmp_path.iterdir())
    assert sorted(set(before) - set(after)) == ["grader-dead", "grader-reused"]
    assert (elsewhere / rundirs.OWNER_FILE).exists()
    assert rundirs.sweep_stale(dir=tmp_path) == []


def test_sweep_logs_what_it_cannot_remove(tmp_path, monkeypatch, caplog):
    root = tmp_path / "grader-stuck"
    _owner_file(root, _dead_owner())
    (root / "held").write_text("x")
    real_unlink = os.unlink

    def refuse(path, *args, **kwargs):
        if os.fsdecode(path).endswith("held"):
            raise PermissionError(1, "Operation not permitted")
        return real_unlink(path, *args, **kwargs)

    monkeypatch.setattr(os, "unlink", refuse)
    with caplog.at_level(logging.WARNING, logger="procbox.rundirs"):
        assert rundirs.sweep_stale(dir=tmp_path) == []
    assert "held" in caplog.text and "Operation not permitted" in caplog.text


def test_a_killed_graders_run_root_is_removed_by_the_next_run(tmp_path):
    tmp = tmp_path / "tmp"  # the graders' temporary directory: only theirs and ours are in it
    tmp.mkdir()
    source, subs, book = slow_class(tmp_path)
    cmd = [sys.executable, "-m", "grader", "grade", str(subs), "--source", str(source), "--gradebook", str(book),
           "--quiet", "--timeout", "30", "--workers", "1"]
    env = {**os.environ, "TMPDIR": str(tmp)}
    before = marked()
    with open(tmp_path / "err.txt", "wb") as err:
        proc = subprocess.Popen(cmd, stdout=subprocess.DEVNULL, stderr=err, env=env, start_new_session=True)
    try:
        deadline = time.monotonic() + 240
        while rows(book) < 1:  # mid-run: one submission recorded, the next one running
            assert proc.poll() is None, (tmp_path / "err.txt").read_text()[-2000:]
            assert time.monotonic() < deadline, "the first submission was never recorded"
            time.sleep(0.1)
        os.kill(proc.pid, 9)
        proc.wait(30)
    finally:
        if proc.poll() is None:
            os.killpg(proc.pid, 9)
            proc.wait(30)
        left = reap_new(before, grace=5)
    roots = [p for p in tmp.iterdir() if p.name.startswith(rundirs.PREFIX)]
    assert len(roots) == 1, roots
    killed = roots[0]
    assert rundirs.read_owner(killed)["pid"] == proc.pid and any(killed.iterdir())

    with rundirs.run_root(dir=tmp) as live:  # a grader that is still running: its root stays
        before = marked()
        try:
            again = subprocess.run(cmd, capture_output=True, text=True, env=env, timeout=300)
        finally:
            left += reap_new(before)
        assert again.returncode == 0, again.stderr[-2000:]
        assert not killed.exists(), "the next run did not remove the killed grader's run root"
        assert live.exists() and rundirs.read_owner(live)["pid"] == os.getpid()
    assert [p for p in tmp.iterdir() if p.name.startswith(rundirs.PREFIX)] == [], "a run root was left behind"
    assert not left, "processes left behind (killed now):\n" + "\n".join(left)
    with Gradebook(book) as gb:
        assert sorted((r.student, r.total) for r in gb.submissions()) == [(s, 5) for s in ("s1", "s2", "s3")]
