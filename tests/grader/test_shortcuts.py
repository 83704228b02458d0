"""Students who take shortcuts (samples/, read by grader/shortcuts.py) miss the marks of the question they got
wrong, and only those, and are flagged for exactly what they did to the tests' machinery: graded for real, in
sealed boxes, as the demo grades them."""

from pathlib import Path

import pytest

from grader import grade
from grader.exercise import load_exercises
from grader.gradebook import Gradebook
from grader.sample_class import KINDS, make_class
from grader.shortcuts import CHEATS, DURING, RESTORED, SHORTCUTS, Shortcut, parse

ROOT = Path(__file__).resolve().parents[2]
pytestmark = pytest.mark.timeout(900)


def guard_flags(flags: list[str]) -> list[str]:
    """The flags of the kernel's guard: what it put back before a test, what changed while a test ran."""
    return [f for f in flags if f.endswith(RESTORED) or DURING in f]


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


EXERCISES = sorted(p.stem for p in (ROOT / "exercises").glob("*.ipynb"))


@pytest.fixture(scope="module")
def graded(request, tmp_path_factory):
    """The shortcut students of every exercise this session selected (``-k 08`` grades only 08's), and one sample
    student of each kind (grader.sample_class.KINDS), graded once."""
    chosen = sorted({item.callspec.params["exercise"] for item in request.session.items
                     if item.module is request.module and hasattr(item, "callspec")})
    exercises = load_exercises(ROOT / "exercises")
    out = tmp_path_factory.mktemp("shortcuts")
    expected = make_class({name: exercises[name] for name in chosen}, out / "class", students=len(KINDS),
                          shortcuts=True)
    rc = grade.main(submissions=out / "class", source=ROOT / "exercises", gradebook=out / "g.sqlite",
                    quiet=True, timeout=60, workers=4)  # most of these students wait: four at once
    with Gradebook(out / "g.sqlite") as gb:
        results = {(r.student, r.exercise): r for r in gb.submissions()}
    return expected, results, rc


@pytest.mark.parametrize("exercise", EXERCISES)
def test_each_shortcut_misses_exactly_the_tests_it_names(graded, exercise):
    expected, results, rc = graded
    mine = {key: points for key, points in expected.items() if key[1] == exercise and key[0].startswith("shortcut-")}
    assert mine, f"{exercise} has no shortcut students"
    wrong = {}
    for key, points in mine.items():
        r = results.get(key)
        student, exercise = key
        name = student.split("-", 2)[2]
        shortcut = next(s for s in SHORTCUTS[exercise] if s.name == name)
        failed = sorted(t.test for t in r.tests if t.points < t.max_points) if r else None
        flags = guard_flags(r.flags) if r else []
        missing = [text for text in shortcut.flags if not any(text in f for f in flags)]
        extra = [f for f in flags if not any(text in f for text in shortcut.flags)]
        if r is None or r.total != points or failed != sorted(shortcut.misses) or missing or extra:
            lost = {t.test: (t.status, t.message) for t in r.tests if t.points < t.max_points} if r else None
            wrong[key] = (r and r.total, points, failed, sorted(shortcut.misses), missing, extra, r and r.message, lost)
    assert not wrong, wrong
    assert rc == 0


@pytest.mark.parametrize("exercise", EXERCISES)
def test_the_sample_class_scores_as_expected_and_no_student_code_is_flagged(graded, exercise):
    """Graded as the grader grades (the guard keeping the set-up's names, the modules the tests rely on and their
    submodules, the tests' helper module; the audit hook watching), a student of each kind scores what the sample
    class expects and nothing its code did is flagged (the tampering kind's test cells are restored, which is not
    student code's doing)."""
    expected, results, _ = graded
    mine = {key: points for key, points in expected.items() if key[1] == exercise and key[0].startswith("student")}
    assert len(mine) == len(KINDS)
    wrong = {}
    for key, points in mine.items():
        r = results.get(key)
        flags = [f for f in r.flags if "student code" in f] if r else []
        if r is None or r.total != points or flags:
            lost = {t.test: (t.status, t.message) for t in r.tests if t.points < t.max_points} if r else None
            wrong[key] = (r and r.total, points, flags, r and r.message, lost)
    assert not wrong, wrong


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
