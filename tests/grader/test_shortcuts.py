"""The shortcut students (samples/, read by grader/shortcuts.py): what they cover and how their files read.  They
are graded, in three groups side by side, by tests/grader/test_shortcuts_{1,2,3}.py (tests/support/shortcuts.py)."""

from pathlib import Path
from types import SimpleNamespace

import pytest

from grader.exercise import load_exercises
from grader.sample_class import KINDS
from grader.shortcuts import CHEATS, DURING, RESTORED, SHORTCUTS, Shortcut, parse
from support.shortcuts import COSTLY, EXERCISES, GROUPS, check_shortcuts, group, sample_kinds, student_of, together

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
    kind on at least three exercises, none of them a costly one."""
    for kind in KINDS:
        where = [name for name in EXERCISES if kind in sample_kinds(name)]
        assert len(where) == len(EXERCISES) if kind in ("complete", "blank") else len(where) >= 3, (kind, where)
        costly = [name for name in where if name.split("-", 1)[0] in COSTLY]
        assert kind in ("complete", "blank") or not costly, (kind, costly)


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


def test_shortcuts_put_together_keep_each_ones_misses_and_flags_apart():
    """Each shortcut student is in exactly one submission; a submission holds at most one shortcut per solution cell,
    shortcuts whose missed tests do not overlap, and at most one flagged shortcut (so whatever one shortcut must miss
    or raise, no other of its submission misses or raises it too); and it does put several together."""
    for name, shortcuts in SHORTCUTS.items():
        submissions = together(shortcuts)
        assert sorted(s.name for sub in submissions for s in sub) == sorted(s.name for s in shortcuts), name
        for sub in submissions:
            assert len({s.question for s in sub}) == len(sub), (name, sub)
            misses = [m for s in sub for m in s.misses]
            assert len(set(misses)) == len(misses), (name, sub)
            assert sum(1 for s in sub if s.flags) <= 1, (name, sub)
    assert sum(len(together(s)) for s in SHORTCUTS.values()) < sum(len(s) for s in SHORTCUTS.values()) / 2
    q1, q1b, q2 = (Shortcut(n, q, "x = 1", misses) for n, q, misses in (
        ("a", "q1-solution", ("q1-test",)), ("b", "q1-solution", ("q1-test",)), ("c", "q2-solution", ("q1-test",))))
    flagged = [Shortcut(n, q, "x = 1", (t,), ("changed",)) for n, q, t in (("d", "q3-solution", "q3-test"),
                                                                             ("e", "q4-solution", "q4-test"))]
    assert together([q1, q1b, q2, *flagged]) == [(q1, flagged[0]), (q1b, flagged[1]), (q2,)]


def _graded(shortcuts, failed, flags=()):
    """A graded class of one submission holding ``shortcuts`` of exercise 01 (tests named q1-test ...), which
    failed the tests ``failed`` and raised ``flags``, as :func:`support.shortcuts.check_shortcuts` reads it."""
    tests = [SimpleNamespace(test=t, points=0 if t in failed else 1, max_points=1, status="?", message="")
             for t in ("q1-test", "q2-test", "q3-test", "q4-test")]
    result = SimpleNamespace(tests=tests, flags=list(flags), message="", total=4 - len(failed))
    key = (student_of("01-start-a-cluster", shortcuts), "01-start-a-cluster")
    return {key: 4 - len({m for s in shortcuts for m in s.misses})}, {key: result}, 0


def test_a_submission_of_several_shortcuts_fails_the_check_when_any_one_of_them_gets_through(monkeypatch):
    """The check of a submission holding several shortcuts names the shortcut that passed a test it must miss or was
    not flagged, and a test failed or a flag raised that none of them accounts for."""
    a = Shortcut("typed", "q1-solution", "x = 1", ("q1-test",))
    b = Shortcut("rebinds", "q3-solution", "x = 1", ("q3-test",), ("changed the name _rc" + RESTORED,))
    monkeypatch.setitem(SHORTCUTS, "01-start-a-cluster", [a, b])
    flag = "student code changed the name _rc" + RESTORED
    check_shortcuts(_graded((a, b), {"q1-test", "q3-test"}, [flag]), "01-start-a-cluster")
    for failed, flags, says in ((["q3-test"], [flag], "typed"), (["q1-test", "q3-test"], [], "rebinds"),
                                (["q1-test", "q2-test", "q3-test"], [flag], "q2-test"),
                                (["q1-test", "q3-test"], [flag, "student code replaced Client" + RESTORED], "Client")):
        with pytest.raises(AssertionError, match=says):
            check_shortcuts(_graded((a, b), set(failed), flags), "01-start-a-cluster")
