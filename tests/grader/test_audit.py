"""Flags for code that reaches into the grading machinery (issue 9, item 7): the audit hook and the cell scan.

A few lines that rewrite the kernel's ``do_execute`` make every test "pass" without
running it, and without the audit hook they earn full marks unflagged.  With it,
that and the other ways in (trace functions, frame walks, the guard module, the
kernel's handler table, closing the audit channel) are flags for the instructor;
well-behaved work, every reference solution and the sample class raise none.

Kernel tests run each notebook through ``ExecuteSubmission`` (guard on, audit on)
in a kernel of its own against the session's cluster; the hook's unit tests run
it in a plain Python process.
"""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from dataclasses import dataclass
from pathlib import Path

import nbformat
import pytest
from nbformat.v4 import new_code_cell

from grader.audit import ARM_EVENT, AuditLog, install_code, trusted_dirs
from grader.exercise import Exercise, grade_id, load_exercises
from grader.preprocessors.execute_submission import ExecuteSubmission, guard_requests
from grader.preprocessors.restore_tests import RestoreTests
from grader.preprocessors.scan_submission import ScanSubmission
from grader.preprocessors.score_tests import ScoreTests
from grader.release import student_version
from grader.sample_class import make_class
from grader.scan import scan_cells
from support.builders import SETUP, exercise, meta, solved, toy_exercise

ROOT = Path(__file__).resolve().parents[2]
pytestmark = pytest.mark.timeout(900)
REVIEW = "review: this can make a test pass without running it"

# -- attacks --------------------------------------------------------------------------------------------

# Every test cell reports ok, and its last line (the grader's "ran" marker) runs: full marks, nothing run.
REWRITE_DO_EXECUTE = """\
k = get_ipython().kernel
real = k.do_execute
def fake(code, silent, *args, **kwargs):
    return real(code if silent else code.splitlines()[-1], silent, *args, **kwargs)
k.do_execute = fake
"""

# No name the scan looks for, and nothing executes after it: every request is answered with a made-up reply.
FAKE_HANDLER = """\
import re
k = get_ipython().kernel
table = getattr(k, "shell" + "_handlers")
marker = {}
async def answer(stream, ident, parent):
    content = parent["content"]
    found = re.search(r"\\.ran\\('([0-9a-f]+)'\\)\\s*$", content.get("code", ""))
    if found:
        marker["n"] = found.group(1)
    values = {name: {"status": "ok", "metadata": {}, "data": {"text/plain": repr(
                  json.dumps([marker.get("n"), [], []]) if ".check(" in expr else "[]")}}
              for name, expr in (content.get("user_expressions") or {}).items()}
    reply = {"status": "ok", "execution_count": 1, "user_expressions": values, "payload": []}
    k.session.send(stream, "execute_reply", reply, parent, ident=ident)
import json
table["execute" + "_request"] = answer
"""

SETTRACE = "import sys\nsys.settrace(lambda *args: None)\nsys.settrace(None)"
FRAME_WALK = "import sys\nf = sys._getframe()\nwhile f.f_back is not None:\n    f = f.f_back\nprint(len(f.f_globals))"
TOUCH_GUARD = "import sys\nguard = sys.modules['_grader' + '_guard']\nguard.restore = lambda: '[]'"
CLOSE_CHANNEL = """\
import os
for fd in range(3, 1024):
    try:
        if os.readlink(f"/proc/self/fd/{fd}").endswith(".fifo"):
            os.close(fd)
    except OSError:
        pass
"""
# The same, but a copy of the channel is kept open, so the grader never sees it close: the hook's descriptors
# are replaced by /dev/null, which the grader sees in /proc.
REPLACE_CHANNEL = """\
import os
null = os.open(os.devnull, os.O_WRONLY)
for fd in range(3, 1024):
    try:
        if os.readlink(f"/proc/self/fd/{fd}").endswith(".fifo"):
            keep = os.dup(fd)
            os.dup2(null, fd)
    except OSError:
        pass
"""


# What a well-behaved student does with the libraries: nothing in it is a student's change to what tests rely on.
LIBRARY_WORK = """\
import numpy as np
import numpy.linalg
import ipyparallel.client.magics
from ipyparallel.client.map import Map
rng = np.random.default_rng(1)
norm = float(numpy.linalg.norm(rng.normal(size=3)))
dview.use_cloudpickle().get()
cloud = dview.apply_sync(lambda: norm)
dview.use_pickle().get()
parts = Map().getPartition(list(range(10)), 0, 4)
squares = rc.load_balanced_view().map_sync(lambda x: x * x, range(8))
ar = dview.apply_async(os.getpid)
ar.get()
ar.wait_for_output()
dview.scatter("x", np.arange(8), block=True)
gathered = dview.gather("x", block=True)
rc.activate()
get_ipython().run_line_magic("px", "y = 1")
dview.execute("del x, y", block=True)
"""

# An exercise whose tests read names of its set-up cell and modules the tests rely on; the student's cells cheat.
CHEAT_SETUP = SETUP + ("\n_ids = sorted(rc.ids)\nimport ipyparallel.client.client as _ipp_client\n"
                       "from course.testing import plain as _plain")
CHEATING = [
    ("md", "# Cheating", meta("intro", locked=True)),
    ("code", CHEAT_SETUP, meta("setup", locked=True)),
    ("code", "### BEGIN SOLUTION\n### END SOLUTION", meta("before", solution=True)),
    ("code", "import ipyparallel.client.view\nassert _ids == [0, 1, 2, 3] and _ipp_client.Client is not None",
     meta("t-before", grade=True, locked=True, points=1)),
    ("code", "def helper():\n    ### BEGIN SOLUTION\n    return 1\n    ### END SOLUTION",
     meta("during", solution=True)),
    ("code", "_got = helper()\nassert _got == 1 and len(_ids) == 4",
     meta("t-during", grade=True, locked=True, points=1)),
    ("code", "answer = None\n### BEGIN SOLUTION\nanswer = [1, 2]\n### END SOLUTION", meta("liar", solution=True)),
    ("code", "assert [1, 2] == _plain(answer, list, 'answer')", meta("t-liar", grade=True, locked=True, points=1)),
    ("code", "assert _ids == [0, 1, 2, 3]", meta("t-after", grade=True, locked=True, points=1)),
]
STUDENT_CHEATS = {
    "before": "_ids = [9]\nimport ipyparallel.client.client as m\nm.Client = None\nimport sys\n"
              "del sys.modules['ipyparallel.client.view']",
    "during": "def helper():\n    global _ids\n    _ids = [7, 7, 7, 7]\n    import ipyparallel.client.map\n"
              "    ipyparallel.client.map.Map.getPartition = lambda self, seq, p, q, n=None: seq\n    return 1",
    "liar": "class L(list):\n    def __eq__(self, other):\n        return True\n\n\nanswer = L()",
}


def with_cell(code: str, after: str = "setup"):
    """The released toy exercise (no solution filled in) with ``code`` as a new cell after cell ``after``."""
    nb = student_version(toy_exercise())[0]
    at = next(i for i, c in enumerate(nb.cells) if grade_id(c) == after) + 1
    nb.cells.insert(at, new_code_cell(code))
    return nb


def load_exercises_toy():
    return Exercise("01-toy", Path("01-toy.ipynb"), toy_exercise())


def audit_flags(flags: list[str]) -> list[str]:
    return [f for f in flags if REVIEW in f]


# -- running notebooks ------------------------------------------------------------------------------------

@dataclass
class Ran:
    points: dict  # test -> points
    flags: list
    possible: dict  # test -> max points
    replies: dict  # cell index -> grader.state.Reply


@pytest.fixture(scope="module")
def execute(cluster, mirror, tmp_path_factory):
    """execute(nb, audit=True, source=None) -> Ran: the notebook run in a new kernel, guard on, and scored (with
    ``source``, first rebuilt on it by RestoreTests, whose plan of what the guard keeps the kernel then gets)."""
    from course.data import ENV_VAR

    env = dict(os.environ, IPYTHONDIR=str(cluster.ipython_dir), **{ENV_VAR: mirror.url})
    top = tmp_path_factory.mktemp("audit")
    count = [0]

    def run(nb, audit: bool = True, source=None):
        count[0] += 1
        work = top / f"run-{count[0]}"
        work.mkdir()
        resources = {"metadata": {"path": str(work)}, "grader": {}}
        if source is not None:  # graded as the grader does: locked cells from the source, which the guard reads
            nb, resources = RestoreTests(source=source, released=student_version(source)[0]).preprocess(nb, resources)
        executor = ExecuteSubmission(timeout=60, kernel_env=env, guard=True,
                                     audit_path=str(work / "audit.fifo") if audit else "")
        nb, resources = executor.preprocess(nb, resources)
        nb, resources = ScoreTests().preprocess(nb, resources)
        assert not resources["grader"].crash, resources["grader"].crash
        assert not (work / "audit.fifo").exists(), "the FIFO the executor made is removed"
        tests = resources["grader"].tests
        return Ran({t.test: t.points for t in tests}, resources["grader"].flags,
                   {t.test: t.max_points for t in tests}, resources["grader"].replies)

    return run


FULL_MARKS = {"q1-public": 1, "q1-hidden": 2, "q2-clean": 2}


def test_rewriting_do_execute_earns_full_marks_unflagged_without_the_audit(execute):
    ran = execute(with_cell(REWRITE_DO_EXECUTE), audit=False)
    assert ran.points == FULL_MARKS, "the attack works: no test ran, every test passed"
    assert audit_flags(ran.flags) == [], ran.flags


def test_rewriting_do_execute_is_flagged(execute):
    ran = execute(with_cell(REWRITE_DO_EXECUTE))
    assert ran.points == FULL_MARKS, "flags, not zeros: the instructor decides"
    found = audit_flags(ran.flags)
    assert any("replaced the kernel's do_execute" in f for f in found), ran.flags
    assert all(f.startswith("cell ") for f in found), found


def test_a_fake_execute_request_handler_is_flagged_by_the_last_check(execute):
    nb = with_cell(FAKE_HANDLER)
    assert scan_cells(nb) == [], "written so that the scan does not see it: only the hook can"
    ran = execute(nb)
    assert ran.points == FULL_MARKS, "the attack works: every test passed without running"
    assert any("changed the kernel's shell_handlers (execute_request)" in f for f in audit_flags(ran.flags)), ran.flags


@pytest.mark.parametrize("code, expected", [
    (SETTRACE, "installed a trace function (sys.settrace)"),
    (FRAME_WALK, "walked the call stack (sys._getframe)"),
    (TOUCH_GUARD, "changed the grader's guard (_grader_guard.restore)"),
    (CLOSE_CHANNEL, "closed the audit channel"),
    (REPLACE_CHANNEL, "closed or replaced the audit channel's file descriptor"),
], ids=["settrace", "frame-walk", "guard", "close-channel", "replace-channel"])
def test_reaching_into_the_machinery_is_flagged_naming_the_cell(execute, code, expected):
    nb = with_cell(code)
    index = next(i for i, c in enumerate(nb.cells) if c.source == code)
    ran = execute(nb)
    found = audit_flags(ran.flags)
    assert any(expected in f for f in found), ran.flags
    if code in (SETTRACE, FRAME_WALK, CLOSE_CHANNEL):  # noticed in the cell that did it (the others: when IPython
        # next executes code, or in the last check)
        assert any(f.startswith(f"cell {index}: student code {expected}") for f in found), (index, found)
    assert len(found) == len(set(found)), "each record once"


def test_well_behaved_work_raises_no_flag(execute):
    nb = solved(load_exercises_toy())
    nb.cells.insert(3, new_code_cell(LIBRARY_WORK))
    nb.cells.append(new_code_cell("import traceback, logging, collections, inspect\n"
                                  "P = collections.namedtuple('P', 'x y')\n"
                                  "logging.getLogger('student').warning('a warning')\n"
                                  "try:\n    1 / 0\nexcept ZeroDivisionError:\n    text = traceback.format_exc()\n"
                                  "sig = inspect.signature(engine_pids), inspect.signature(dview.apply)\n"
                                  "raise ValueError(\"an error of the student's own, with a traceback\")"))
    nb.cells.append(new_code_cell("%timeit -n 2 -r 2 sum(range(100))\nprint(f'{len(dview)} engines')"))
    ran = execute(nb, source=toy_exercise())
    assert ran.points["q1-public"] == 1 and ran.points["q1-hidden"] == 2, ran.points
    assert ran.replies[len(nb.cells) - 2].ename == "ValueError", "the cell ran to its last line"
    assert ran.replies[len(nb.cells) - 1].status == "ok"
    assert ran.flags == [], ran.flags


def test_the_guard_keeps_set_up_names_modules_and_helpers_and_zeroes_a_test_changed_while_it_ran(execute):
    """Issue 20, in a kernel: a set-up name, a submodule's attribute and a sys.modules entry changed before a test
    are put back and flagged (the test passes on the instructor's objects); a name and a class method changed by
    student code a test calls cost that test its points; an answer whose __eq__ lies fails plain()."""
    source = exercise(CHEATING)
    honest = execute(solved(Exercise("01-cheat", Path("01-cheat.ipynb"), source)), source=source)
    assert honest.points == {"t-before": 1, "t-during": 1, "t-liar": 1, "t-after": 1} and honest.flags == []
    nb = student_version(source)[0]
    for cell in nb.cells:
        if grade_id(cell) in STUDENT_CHEATS:
            cell.source = STUDENT_CHEATS[grade_id(cell)]
    ran = execute(nb, source=source)
    assert ran.points == {"t-before": 1, "t-during": 0, "t-liar": 0, "t-after": 1}, (ran.points, ran.flags)
    during = next(i for i, c in enumerate(nb.cells) if grade_id(c) == "t-during")
    liar = next(i for i, c in enumerate(nb.cells) if grade_id(c) == "t-liar")
    assert ran.replies[during].ename == "TestTampered"
    assert ran.replies[liar].ename == "NotPlain" and ran.replies[liar].evalue.startswith(
        "answer should be a list, got a L (a subclass of list")
    restored = "; restored before the tests"
    assert sorted(f for f in ran.flags if "student code" in f) == sorted([
        f"student code changed ipyparallel.client.client.Client{restored}",
        f"student code changed sys.modules['ipyparallel.client.view']{restored}",
        f"student code changed the name '_ids', which the tests use (the exercise's locked cells bound it){restored}",
        f"test cell {during}: student code the test called changed the name '_ids', Map.getPartition while the "
        "test ran; the test scores 0",
    ]), ran.flags


def test_reference_solutions_pass_the_static_scan():
    """The scan flags nothing in the reference solutions.  (Graded for real, they earn full marks with no flag and
    the sample class raises no flag of student code: tests/grader/test_shortcuts_*.py.)"""
    for name, ex in load_exercises(ROOT / "exercises").items():
        assert scan_cells(solved(ex)) == [], name


# -- the static scan --------------------------------------------------------------------------------------

def test_scan_names_the_cell_and_the_construct():
    nb = with_cell(REWRITE_DO_EXECUTE)  # cell 2, after the setup cell
    nb.cells[3:3] = [new_code_cell("import sys, inspect, gc\nframes = inspect.stack()\n"
                                   "gc.get_referrers(sys)\nsys.modules['_grader_guard']"),
                     new_code_cell("ip = get_ipython()\nip.kernel.session.send = print\n"
                                   "setattr(ip.kernel, 'x', 1)\n%time x = 1")]
    flags = scan_cells(nb)
    expected = {2: ["the kernel's do_execute", "an assignment to k.do_execute"],
                3: ["stack frames (inspect.stack)", "gc.get_referrers",
                    "the grader's guard (_grader_guard), named in a string"],
                4: ["an assignment to ip.kernel.session.send", "setattr() on ip.kernel"]}
    for index, texts in expected.items():
        for text in texts:
            assert any(f.startswith(f"cell {index}: the submitted code uses ") and text in f for f in flags), (
                text, flags)
    assert all(f.endswith(REVIEW) for f in flags)
    assert len(flags) == len(set(flags))


def test_scan_ignores_locked_and_test_cells_and_names_solution_cells_by_grade_id():
    nb = solved(load_exercises_toy())
    for cell in nb.cells:
        if grade_id(cell) in ("setup", "q1-public"):
            cell.source += "\nimport sys; sys.settrace(None)"  # the instructor's cells (restored from the source)
        if grade_id(cell) == "q2":
            cell.source += "\nimport sys; sys.settrace(None)"
    flags = scan_cells(nb)
    assert len(flags) == 1 and flags[0].startswith("cell 5 (q2): the submitted code uses a trace function"), flags


def test_scan_flags_answers_that_say_they_equal_anything():
    """Issue 20: a class of the answer's own whose __eq__ (or another comparison) returns a constant is flagged
    for review, in every cheat that writes one; a comparison that compares is not."""
    from grader.sample_class import shortcut_notebook
    from grader.shortcuts import CHEATS

    exercises = load_exercises(ROOT / "exercises")
    liars = [(name, s) for name, cheats in CHEATS.items() for s in cheats
             if "def __eq__(self, other):\n        return True" in s.source]
    assert len(liars) >= 8
    for name, cheat in liars:
        nb = shortcut_notebook(exercises[name], cheat)
        index = next(i for i, c in enumerate(nb.cells) if grade_id(c) == cheat.question)
        flags = [f for f in scan_cells(nb) if "whatever it is given" in f]
        assert flags and all(f.startswith(f"cell {index} ({cheat.question}): the submitted code uses a comparison "
                                          "that answers True whatever it is given") for f in flags), (name, cheat.name)
    fair = with_cell("class Point:\n    def __eq__(self, other):\n"
                     "        return (self.x, self.y) == (other.x, other.y)\n"
                     "    __hash__ = None\n\n    def __lt__(self, other):\n        'never less'\n"
                     "        return NotImplemented\n")
    assert scan_cells(fair) == []
    odd = with_cell("class Always:\n    __ne__ = lambda self, other: False\n\n    def __contains__(self, x):\n"
                    "        return 1\n")
    assert [f.split(": ", 1)[1].split(" — ")[0] for f in scan_cells(odd)] == [
        "the submitted code uses a comparison that answers False whatever it is given (Always.__ne__): an object that "
        "says it equals anything",
        "the submitted code uses a comparison that answers 1 whatever it is given (Always.__contains__): an object "
        "that says it equals anything"]


def test_scan_of_unparseable_code_falls_back_to_the_text():
    nb = with_cell("def broken(:\n    get_ipython().kernel.do_execute = None\n    sys._getframe(")
    flags = scan_cells(nb)
    assert any("the kernel's do_execute" in f for f in flags) and any("sys._getframe" in f for f in flags), flags
    assert any("assignment to an attribute of get_ipython()" in f for f in flags), flags


def test_scan_of_the_reference_solutions_and_the_whole_sample_class_is_clean(tmp_path):
    exercises = load_exercises(ROOT / "exercises")
    make_class(exercises, tmp_path, students=12)
    for path in sorted(tmp_path.rglob("*.ipynb")):
        assert scan_cells(nbformat.read(path, as_version=4)) == [], path


def test_scan_submission_appends_its_flags_once():
    nb = with_cell(SETTRACE)
    resources = {"grader": {"flags": ["an earlier flag"]}}
    nb, resources = ScanSubmission().preprocess(nb, resources)
    nb, resources = ScanSubmission().preprocess(nb, resources)
    flags = resources["grader"].flags
    assert flags[0] == "an earlier flag" and len(flags) == 2 and "settrace" in flags[1], flags
    assert ScanSubmission().preprocess(with_cell("x = 1"), {})[1]["grader"].flags == []


# -- the hook and the channel, without a kernel --------------------------------------------------------------

def hooked_process(log: AuditLog, code: str) -> subprocess.Popen:
    """A Python process that installs the hook (as the kernel does), arms it and runs ``code``."""
    prelude = install_code(log.path, log.token, trusted_dirs()) + f"\nimport sys\nsys.audit({ARM_EVENT!r}, None)\n"
    return subprocess.Popen([sys.executable, "-c", prelude + code])


def read_until_exit(log: AuditLog, proc: subprocess.Popen, timeout: float = 30) -> list[dict]:
    records, deadline = [], time.monotonic() + timeout
    while proc.poll() is None and time.monotonic() < deadline:
        time.sleep(0.02)
        records += log.drain()
    if proc.poll() is None:
        proc.kill()
    proc.wait()
    return records + log.drain()


def test_records_leave_the_process_as_they_happen(tmp_path):
    with AuditLog(tmp_path / "audit.fifo") as log:
        proc = hooked_process(log, "import os, signal, json\n"
                                   "os.write = lambda *a: 0\njson.dumps = None\n"  # bound at install: no effect
                                   "for _ in range(10000):\n    sys.settrace(None)\n"
                                   "os.kill(os.getpid(), signal.SIGKILL)\n")
        records = read_until_exit(log, proc)
    assert proc.returncode == -signal.SIGKILL
    settrace = [r for r in records if r["event"] == "sys.settrace"]
    assert len(settrace) == 1 and settrace[0]["what"] == "installed a trace function (sys.settrace)", records
    assert settrace[0]["where"].startswith("line "), settrace


def test_library_internals_raise_no_record(tmp_path):
    code = ("import collections, logging, traceback, typing, enum, dataclasses, warnings, numpy\n"
            "collections.namedtuple('P', 'x')\nlogging.getLogger('x').warning('w')\n"
            "T = typing.TypeVar('T')\nE = enum.Enum('E', 'a b')\n"
            "@dataclasses.dataclass\nclass D:\n    x: int = 1\n"
            "warnings.warn('w')\nnumpy.arange(10).sum()\n"
            "try:\n    1 / 0\nexcept Exception:\n    traceback.format_exc()\n")
    with AuditLog(tmp_path / "audit.fifo") as log:
        records = read_until_exit(log, hooked_process(log, code))
    assert [r for r in records if r["event"] != "audit.closed"] == [], records


def test_the_channel_reports_what_is_not_the_hook(tmp_path):
    with AuditLog(tmp_path / "audit.fifo") as log:
        assert log.drain() == [] and not log.connected
        writer = os.open(log.path, os.O_WRONLY | os.O_NONBLOCK)
        hello = {"t": log.token, "event": "audit.hello", "fds": [], "tick": False}
        os.write(writer, json.dumps(hello).encode() + b"\n")
        assert log.drain() == [] and log.connected and log.sealed
        assert os.stat(log.path).st_mode & 0o777 == 0o600, "sealed: the grader's alone"
        os.write(writer, b'{"event": "sys.settrace", "what": "forged"}\n')
        os.write(writer, json.dumps({"t": log.token, "event": "x", "what": "w", "where": "", "dropped": 3}).encode()
                 + b"\n")
        events = [r["event"] for r in log.drain()]
        assert events == ["audit.forged", "audit.dropped", "x"], events
        assert log.sync() is None, "no tick channel: nothing to ask"
        os.close(writer)
        assert [r["event"] for r in log.drain()] == ["audit.closed"]
        assert log.drain() == []


def test_guard_requests_install_the_hook_first_and_arm_it_last():
    plain = guard_requests()
    assert len(plain) == 2
    audited = guard_requests("/run/audit.fifo", "tok")
    assert audited[1:3] == plain
    code, expressions = audited[0]
    assert code == "" and "'/run/audit.fifo'" in expressions["v"], "an expression: no input transformer sees it"
    assert ARM_EVENT in audited[-1][0]


# -- end to end, through the grader's pipeline (grader.grading.grading, grader.worker.Slot) ---------------------

def test_grading_flags_the_rewrite_and_nothing_else(tmp_path):
    from support.classes import assert_good, assert_no_leaks, grade_class

    cheat = with_cell(REWRITE_DO_EXECUTE)
    obfuscated = with_cell(REWRITE_DO_EXECUTE.replace("k.do_execute = fake", "setattr(k, 'do_' + 'execute', fake)")
                           .replace("real = k.do_execute", "real = getattr(k, 'do_' + 'execute')"))
    run = grade_class(tmp_path, {"a-rewrites": {"01-toy": nbformat.writes(cheat).encode()},
                                 "a-obfuscated": {"01-toy": nbformat.writes(obfuscated).encode()},
                                 "z-good": {"01-toy": nbformat.writes(solved(load_exercises_toy())).encode()}},
                      timeout=30)
    assert run.rc == 0, run.output[-2000:]
    for student in ("a-rewrites", "a-obfuscated"):
        r = run.r(student)
        assert r.total == 5, "flags, not zeros"
        flags = audit_flags(r.flags)
        assert any("student code replaced the kernel's do_execute" in f for f in flags), r.flags
        if student == "a-rewrites":
            assert any("the submitted code uses the kernel's do_execute" in f for f in flags), r.flags
    assert_good(run)
    assert audit_flags(run.r("z-good").flags) == []
    assert_no_leaks(run)
