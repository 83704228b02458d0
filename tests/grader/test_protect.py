"""What the kernel's guard keeps as the instructor made it (issue 20): worked out from the source (grader.protect),
and put back by the guard (grader/kernel_guard.py), here in this process with a stand-in for the kernel's shell.

The exercises' kernels run these for real (grader/test_audit.py, grader/test_shortcuts_*.py); these tests pin down
the rules: which names a test reads that locked cells bound, and what the guard restores and reports.
"""

from __future__ import annotations

import json
import sys
import types
from pathlib import Path

import pytest

from grader.exercise import load_exercises
from grader.protect import Flow, parse, protection
from support.builders import exercise, meta

ROOT = Path(__file__).resolve().parents[2]


def flow(code: str) -> Flow:
    return Flow().run(parse(code))


# -- reading the source ------------------------------------------------------------------------------------

def test_a_name_counts_as_read_only_if_the_cell_has_not_bound_it_before():
    f = flow("_got = f(_rc)\nassert _got == _ids\nfor _i in _ids:\n    print(_i, _view)\n_view = 1\n")
    assert f.reads == {"f", "_rc", "_ids", "print", "_view"}
    assert f.bound == {"_got", "_view"} and {"_i"} <= f.ever, "a loop's target is bound only if it ran"


def test_functions_classes_lambdas_and_comprehensions_read_globals_where_they_are_defined():
    f = flow("def _check(view):\n    import time\n    local = 1\n    return _rc[view] + local + time.time()\n"
             "class _Client:\n    ids = _ids\n    def go(self):\n        return _engine_pids\n"
             "_cb = lambda x: _kernel_pid + x\n_squares = [y * _k for y in _seq]\n")
    assert f.reads == {"_rc", "_ids", "_engine_pids", "_kernel_pid", "_k", "_seq"}
    assert f.functions["_check"] == {"_rc"} and f.functions["_Client"] == {"_ids", "_engine_pids"}


def test_branches_bind_a_name_only_if_every_one_does():
    f = flow("if a:\n    x = 1\nelse:\n    y = 2\nprint(x)\ntry:\n    z = 1\nexcept E as e:\n    z = 2\nprint(z)")
    assert "x" in f.reads and "z" not in f.reads and {"x", "y", "z", "e"} <= f.ever


def test_names_spelled_in_strings_and_declared_global_may_be_bound():
    f = flow("_g = globals()\n_g['rc'] = None\ndef f():\n    global _time\n    _time = 1\n")
    assert {"rc", "_time", "_g", "f"} <= f.ever and f.declared_global == {"_time"}


def test_imports_name_modules_everywhere_in_a_cell():
    f = flow("import os.path as p\nfrom ipyparallel.client import map as m\ndef g():\n    import numpy.random\n"
             "from . import local\n")
    assert f.modules == {"os.path", "ipyparallel.client", "ipyparallel.client.map", "numpy.random"}


def test_magics_are_read_as_ipython_runs_them():
    assert flow("%%px --targets 0::2\npartner = 1\n").reads == {"get_ipython"}
    assert parse("def broken(:\n") is None


def nb(*cells):
    """An exercise from (kind, source, grade_id) with kind setup, solution, test or locked."""
    built = []
    for kind, source, gid in cells:
        flags = {"setup": dict(locked=True), "locked": dict(locked=True), "solution": dict(solution=True),
                 "test": dict(grade=True, locked=True, points=1)}[kind]
        built.append(("code", source, meta(gid, **flags)))
    return exercise(built)


def test_protection_restores_what_tests_read_from_locked_cells_minus_the_students_answers():
    plan = protection(nb(
        ("setup", "import time\nrc = 1\n_rc, _time = rc, time\ndef _helper():\n    return _ids\n_ids = [0]\n_ = 5",
         "setup"),
        ("solution", "def answer():\n    global result\n    result = 1\n_rc_of_mine = 2\nrc = 3", "q1"),
        ("test", "_x = answer()\nassert _x == _helper() and _ in (1,) and rc\n_seen = _time.time()", "q1-test"),
        ("test", "assert _seen and _x and _time and _In", "q2-test"),
    ))
    assert plan.reads == {"q1-test": ["_helper", "_ids", "_time"], "q2-test": ["_seen", "_time", "_x"]}, (
        "rc is the student's (a solution binds it), _ is IPython's, answer and result are the student's")
    assert plan.keeps == plan.reads
    assert plan.binds == {"setup": ["_helper", "_ids", "_time"], "q1-test": ["_seen", "_x"]}
    assert plan.modules == ["time"]


def test_a_test_that_binds_a_name_it_reads_cannot_tell_who_changed_it():
    plan = protection(nb(("setup", "_n = 1", "setup"), ("test", "assert _n\n_n = 2", "q1-test")))
    assert plan.reads["q1-test"] == ["_n"] and plan.keeps["q1-test"] == []


def test_the_exercises_protect_the_set_up_helpers_the_issue_names():
    plans = {name: protection(e.nb) for name, e in load_exercises(ROOT / "exercises").items()}
    assert {"_time", "_rc", "_ids", "_ipp_client", "_plain"} <= set(plans["01-start-a-cluster"].reads["q4-test"]) | set(
        plans["01-start-a-cluster"].reads["q3-test"])
    assert "_engine_pids" in plans["02-use-direct-views"].reads["q1-test"]
    assert "ipyparallel.client.client" in plans["01-start-a-cluster"].modules
    for name, plan in plans.items():
        for gid, names in plan.reads.items():
            assert not set(names) & {"rc", "dview", "np", "os", "lview"}, (name, gid, "the tests read no public name")


# -- the guard, in this process ---------------------------------------------------------------------------

class Events:
    def __init__(self):
        self.callbacks = {"pre_run_cell": []}


class Shell:
    """What the guard reads of IPython's shell."""

    def __init__(self):
        self.user_ns = {}
        self.events = Events()
        self.input_transformers_cleanup, self.input_transformers_post, self.ast_transformers = [], [], []


@pytest.fixture
def guard():
    module = types.ModuleType("_grader_guard")
    exec((ROOT / "grader" / "kernel_guard.py").read_text(), module.__dict__)
    shell = Shell()
    module.install(shell)
    module.rely(json.dumps(["ipyparallel.client.client", "json.decoder"]))
    module.shell = shell
    return module


def repairs(guard, names=()) -> list[str]:
    return json.loads(guard.restore(list(names)))


def test_names_are_held_after_locked_cells_and_put_back_before_tests(guard):
    ns = guard.shell.user_ns
    ns["_time"], ns["_ids"] = real_time, ids = object(), [0, 1]
    guard.hold(["_time", "_ids", "_missing"])
    assert repairs(guard, ["_time", "_ids"]) == []
    ns["_time"] = fake = object()
    del ns["_ids"]
    found = repairs(guard, ["_time", "_ids", "_missing"])
    assert found == ["the name '_time', which the tests use (the exercise's locked cells bound it)",
                     "the name '_ids', which the tests use (the exercise's locked cells bound it)"]
    assert ns["_time"] is real_time and ns["_ids"] is ids
    ran, changed, modules = json.loads(guard.check(["_time", "_ids"], []))
    assert (changed, modules) == ([], [])
    assert ns["_time"] is fake and "_ids" not in ns, "after the test the notebook gets its own objects back"


def test_a_name_bound_again_to_an_equal_string_or_number_is_no_change(guard):
    ns = guard.shell.user_ns
    ns["base_url"], ns["_n"], ns["_ids"] = "http://127.0.0.1:8765/books/", 4, [0, 1]
    guard.hold(["base_url", "_n", "_ids"])
    ns["base_url"], ns["_n"], ns["_ids"] = "".join(["http://127.0.0.1:8765/", "books/"]), 2 + 2, [0, 1]
    assert repairs(guard, ["base_url", "_n", "_ids"]) == [
        "the name '_ids', which the tests use (the exercise's locked cells bound it)"], "a list is another object"
    ns["_n"] = True  # equal to 1, but not an int
    guard.hold(["_n"])
    ns["_n"] = 1
    assert repairs(guard, ["_n"]) == ["the name '_n', which the tests use (the exercise's locked cells bound it)"]


def test_a_name_changed_while_the_test_ran_is_reported(guard):
    ns = guard.shell.user_ns
    ns["_rc"] = real = object()
    guard.hold(["_rc"])
    assert repairs(guard, ["_rc"]) == []
    ns["_rc"] = object()  # student code the test called
    assert json.loads(guard.check(["_rc"], [])) == [None, ["_rc"], []]
    ns["_rc"] = real
    guard.ran("n")
    ns["_rc"] = mine = object()
    assert json.loads(guard.check([], ["_rc"])) == ["n", [], []], "a name the test binds itself is its own"
    assert guard._names["_rc"] is mine, "and what it bound is held for the tests after it"


def test_submodules_their_classes_and_sys_modules_entries_are_put_back(guard):
    import json.decoder

    import ipyparallel.client.client as client_module
    import ipyparallel.client.view as view_module

    real_client, real_map = client_module.Client, view_module.DirectView.map
    try:
        client_module.Client = object
        view_module.DirectView.map = lambda *args: None
        view_module.DirectView.__eq__ = lambda self, other: True
        json.decoder.JSONDecoder.added = lambda self: None
        del sys.modules["ipyparallel.client.view"]
        client_module.len = lambda x: 4  # a name that hides a builtin, added to a module
        found = repairs(guard)
    finally:
        client_module.Client, view_module.DirectView.map = real_client, real_map
        sys.modules["ipyparallel.client.view"] = view_module
        for cls, key in ((view_module.DirectView, "__eq__"), (json.decoder.JSONDecoder, "added")):
            if key in vars(cls):
                delattr(cls, key)
        vars(client_module).pop("len", None)
    assert set(found) == {"ipyparallel.client.client.Client", "DirectView.map", "DirectView.__eq__",
                          "JSONDecoder.added", "sys.modules['ipyparallel.client.view']",
                          "ipyparallel.client.client.len"}
    assert client_module.Client is real_client and "len" not in vars(client_module)


def test_the_helpers_are_kept_whole(guard):
    import course.testing as helpers

    real_plain, real_code = helpers.plain, helpers.plain.__code__
    try:
        helpers.plain.__code__ = (lambda value, kind=None, what="", *, leaves=(): value).__code__
        helpers.exactly = lambda value, *args: value
        helpers.type = lambda value: int
        found = repairs(guard)
        assert helpers.plain.__code__ is real_code and "type" not in vars(helpers)
    finally:
        helpers.plain.__code__ = real_code
        helpers.plain = real_plain
        vars(helpers).pop("type", None)
    assert set(found) == {"course.testing.plain's code", "course.testing.exactly", "course.testing.type"}


def test_a_module_changed_while_the_test_ran_is_reported_and_put_back(guard):
    import time

    real = time.monotonic
    assert repairs(guard) == []
    try:
        time.monotonic = lambda: 0.0
        ran, changed, modules = json.loads(guard.check([], []))
    finally:
        time.monotonic = real
    assert modules == ["time.monotonic"] and time.monotonic is real


def test_the_librarys_own_work_is_no_repair(guard):
    """A global a library fills itself (ipyparallel.client.map's numpy), ipyparallel's pickler switched with its own
    API, modules and submodules imported later, and Python's own caches on classes."""
    import copyreg

    import ipyparallel.client.map as map_module
    import ipyparallel.serialize.serialize as serialize_module

    saved = map_module.numpy, serialize_module.pickle
    try:
        map_module.numpy = None
        guard._modules["ipyparallel.client.map"][1]["numpy"] = None  # as the guard found it before numpy was needed
        map_module.is_array([])  # imports numpy into its global
        serialize_module.pickle = types.ModuleType("cloudpickle")
        import ipyparallel.client.magics  # noqa: F401 - loaded now (a submodule of a module relied on)
        copyreg._slotnames(map_module.Map)  # caches __slotnames__ on the class
        assert repairs(guard) == []
        assert json.loads(guard.check([], [])) == [None, [], []]
    finally:
        map_module.numpy, serialize_module.pickle = saved


# -- parsing in the grader's threads ------------------------------------------------------------------------

def test_the_graders_parses_hold_the_lock(monkeypatch):
    """CPython 3.11 fails two threads that build AST objects at once ("AST constructor recursion depth mismatch"),
    and the grader's workers are threads: RestoreTests' plan, the audit's scan and ExecuteSubmission's answers from
    the kernel (literal_eval) all parse under grader.protect.PARSE_LOCK."""
    import ast

    from grader import protect
    from grader.preprocessors import execute_submission
    from grader.scan import scan_cells

    held = []
    real_parse = ast.parse

    def parse(*args, **kwargs):
        held.append(protect.PARSE_LOCK.locked())
        return real_parse(*args, **kwargs)

    monkeypatch.setattr(ast, "parse", parse)  # literal_eval parses with it too
    protect._protection.cache_clear()
    protection(nb(("setup", "_x = 1", "setup"), ("test", "assert _x", "q1-test")))
    scan_cells(nb(("solution", "x = 1", "q1")))

    class Client:
        def execute(self, *args, **kwargs):
            return "msg"

    executor = execute_submission.ExecuteSubmission()
    executor.kc = Client()
    monkeypatch.setattr(executor, "_reply", lambda kc, msg_id, timeout: {"content": {"user_expressions": {
        "v": {"status": "ok", "data": {"text/plain": "'[1, 2]'"}}}}})
    assert executor._ask(expression="anything") == "[1, 2]"
    assert len(held) >= 4 and all(held), held
