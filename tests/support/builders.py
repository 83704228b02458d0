"""Small exercise notebooks built in memory, for tests that need a particular shape."""

from __future__ import annotations

from pathlib import Path

import nbformat
from nbformat.v4 import new_code_cell, new_markdown_cell, new_notebook

from grader.sample_class import fill

SETUP = ("import os, sys\nimport ipyparallel as ipp\nrc = ipp.Client()\nrc.wait_for_engines(4, timeout=60)\n"
         "dview = rc[:]")


def meta(gid: str, *, solution=False, grade=False, locked=False, points=None) -> dict:
    nbg = {"schema_version": 3, "grade_id": gid, "solution": solution, "grade": grade, "locked": locked,
           "task": False}
    if points is not None:
        nbg["points"] = points
    return {"nbgrader": nbg}


def exercise(cells: list[tuple[str, str, dict]]):
    """cells: (kind, source, metadata) with kind "md" or "code"."""
    nb = new_notebook(metadata={"kernelspec": {"name": "python3", "display_name": "Python 3",
                                               "language": "python"}})
    nb.cells = [(new_markdown_cell if kind == "md" else new_code_cell)(src, metadata=md) for kind, src, md in cells]
    return nb


def toy_exercise() -> nbformat.NotebookNode:
    """Two questions, 3 points: engine PIDs (1 + 2 hidden) and a clean-engines check (2)."""
    return exercise([
        ("md", "# Toy exercise\nTotal: 5 points", meta("intro", locked=True)),
        ("code", SETUP, meta("setup", locked=True)),
        ("code", "def engine_pids():\n    ### BEGIN SOLUTION\n    return dview.apply_sync(os.getpid)\n"
                 "    ### END SOLUTION",
         meta("q1", solution=True)),
        ("code", "assert len(set(engine_pids())) == 4",
         meta("q1-public", grade=True, locked=True, points=1)),
        ("code", "assert os.getpid() not in engine_pids()\n### BEGIN HIDDEN TESTS\n"
                 "assert sorted(rc.ids) == [0, 1, 2, 3], 'HIDDEN-MARKER'\n### END HIDDEN TESTS",
         meta("q1-hidden", grade=True, locked=True, points=2)),
        ("code", "answer = None\n### BEGIN SOLUTION\nanswer = 42\n### END SOLUTION", meta("q2", solution=True)),
        ("code", CLEAN_CHECK, meta("q2-clean", grade=True, locked=True, points=2)),
    ])


CLEAN_CHECK = """\
assert answer == 42
def _engine_state():
    import os, sys
    return ("secret" in globals(), os.environ.get("LEAKED"), os.getcwd(), "leaky_module" in sys.modules,
            hasattr(os, "patched_by_student"), sorted(os.listdir(".")))
states = dview.apply_sync(_engine_state)
assert sorted(rc.ids) == [0, 1, 2, 3], rc.ids
assert not any(s[0] for s in states), "a variable leaked"
assert not any(s[1] for s in states), "an environment variable leaked"
assert not any(s[3] for s in states), "an import leaked"
assert not any(s[4] for s in states), "a monkeypatch leaked"
assert all(s[5] == [] for s in states), f"files leaked: {states}"
assert len({s[2] for s in states}) == 1 and os.getcwd() == states[0][2], "engines not in the run's directory"
"""

POLLUTE = """\
import types
dview.execute('''
secret = 42
import os, sys, types
os.environ["LEAKED"] = "yes"
sys.modules["leaky_module"] = types.ModuleType("leaky_module")
os.patched_by_student = True
open("left-behind.txt", "w").write("x")
''', block=True)
open("left-behind-by-kernel.txt", "w").write("x")
rc.shutdown(targets=[3], block=True)
import time
deadline = time.monotonic() + 30
while 3 in rc.ids and time.monotonic() < deadline:  # until this client has heard engine 3 leave: a task sent to it
    time.sleep(0.01)                                  # before then may never return (the hub has dropped it)
"""


def solved(exercise) -> nbformat.NotebookNode:
    """The student version with every solution filled in: what a student who solved everything hands in."""
    return fill(exercise, solved=10**6, broken=False)[0]


def write(nb, path: Path) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    nbformat.write(nb, path)
    return path
