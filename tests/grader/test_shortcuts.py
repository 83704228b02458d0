"""The shortcut students (samples/, read by grader/shortcuts.py): what they cover and how their files read.  They
are graded, in three groups side by side, by tests/grader/test_shortcuts_{1,2,3}.py (tests/support/shortcuts.py)."""

from pathlib import Path

import pytest

from grader.exercise import load_exercises
from grader.sample_class import KINDS
from grader.shortcuts import CHEATS, DURING, SHORTCUTS, Shortcut, parse
from support.shortcuts import EXERCISES, GROUPS, group, sample_kinds

ROOT = Path(__file__).resolve().parents[2]


def test_every_exercise_has_at_least_two_shortcut_students():
    exercises = load_exercises(ROOT / "exercises")
    for name, exercise in exercises.items():
        assert len(SHORTCUTS.get(name, [])) >= 2, name
        for s in SHORTCUTS[name]:
            assert s.misses and set(s.misses) <= set(exercise.tests), (name, s.name)
        names = [s.name for s in SHORTCUTS[name]]
        assert len(names) == len(set(names)), name


def test_cheats_cover_every_kind_on_several_exercises():
    """Answers that equal anything, set-up helpers rebound (before the tests and while they run), and modules the
    tests rely on patched (ipyparallel's submodules, the tests' helper module): each on more than one exercise."""
    kinds = {
        "an answer whose __eq__ lies": lambda s: "def __eq__(self, other):\n        return True" in s.source,
        "a set-up name rebound before the tests": lambda s: any(f.endswith(", which the tests use") for f in s.flags),
        "a set-up name rebound while a test runs": lambda s: any("changed the name" in f and DURING in f
                                                                 for f in s.flags),
        "ipyparallel patched": lambda s: any(("ipyparallel." in f or "Client." in f or "View." in f) for f in s.flags),
        "the tests' helper module patched": lambda s: any("course.testing" in f for f in s.flags),
    }
    for kind, holds in kinds.items():
        where = {name for name, cheats in CHEATS.items() for s in cheats if holds(s)}
        assert len(where) >= 2, (kind, where)
    bases = {base for cheats in CHEATS.values() for s in cheats for base in ("tuple", "str", "int", "list", "dict")
             if f"({base}):\n" in s.source}
    assert bases == {"tuple", "str", "int", "list", "dict"}, bases
    assert any("def __len__" in s.source and "def __iter__" in s.source for c in CHEATS.values() for s in c)
    assert any("def __getitem__" in s.source for c in CHEATS.values() for s in c)


def test_every_exercise_is_graded_in_exactly_one_group():
    """tests/grader/test_shortcuts_{1,2,3}.py grade the shortcut students of the exercises of support.shortcuts.GROUPS:
    a new exercise must be put in one (the one whose grading is shortest)."""
    placed = [name for n in range(len(GROUPS)) for name in group(n)]
    assert sorted(placed) == EXERCISES, sorted(set(EXERCISES) - set(placed))
    assert len(GROUPS) == len(list(Path(__file__).parent.glob("test_shortcuts_*.py")))


def test_every_kind_of_sample_student_is_graded_on_several_exercises():
    """The complete and the blank student on every exercise (its solutions pass, its release does not); each other
    kind on at least five exercises."""
    for kind in KINDS:
        where = [name for name in EXERCISES if kind in sample_kinds(name)]
        assert len(where) == len(EXERCISES) if kind in ("complete", "blank") else len(where) >= 5, (kind, where)


def test_a_sample_file_is_its_header_then_its_prelude_then_its_cell(tmp_path):
    (tmp_path / "preludes").mkdir()
    (tmp_path / "preludes" / "shared.py").write_text("LIMIT = 3\n\n\n")
    student = tmp_path / "shortcuts" / "09-x" / "typed.py"
    student.parent.mkdir(parents=True)
    student.write_text("#: question: q1-solution\n#: misses: q1-test, q2-test\n#: flag: changed x\n#: prelude: shared\n"
                       "def clip(x):\n    return 3\n")
    assert parse(student, tmp_path) == Shortcut("typed", "q1-solution", "LIMIT = 3\n\n\ndef clip(x):\n    return 3",
                                                ("q1-test", "q2-test"), ("changed x",))
    student.write_text("#: question: q1-solution\n#: answer: 42\nx = 1\n")
    with pytest.raises(ValueError, match="typed.py:2"):
        parse(student, tmp_path)
