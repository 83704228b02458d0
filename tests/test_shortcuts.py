"""Students who take shortcuts (grader/shortcuts.py) miss the marks of the question they got wrong, and only
those: graded for real, in sealed boxes, as the demo grades them."""

from pathlib import Path

import pytest

from grader import grade
from grader.exercise import load_exercises
from grader.gradebook import Gradebook
from grader.sample_class import make_class
from grader.shortcuts import SHORTCUTS

ROOT = Path(__file__).resolve().parents[1]
pytestmark = pytest.mark.timeout(900)


def test_every_exercise_has_at_least_two_shortcut_students():
    exercises = load_exercises(ROOT / "exercises")
    for name, exercise in exercises.items():
        assert len(SHORTCUTS.get(name, [])) >= 2, name
        for s in SHORTCUTS[name]:
            assert s.misses and set(s.misses) <= set(exercise.tests), (name, s.name)


def test_each_shortcut_misses_exactly_the_tests_it_names(tmp_path):
    exercises = load_exercises(ROOT / "exercises")
    expected = make_class(exercises, tmp_path / "class", students=0, shortcuts=True)
    assert expected
    rc = grade.main(submissions=tmp_path / "class", source=ROOT / "exercises", gradebook=tmp_path / "g.sqlite",
                    quiet=True, timeout=60)
    with Gradebook(tmp_path / "g.sqlite") as gb:
        results = {(r.student, r.exercise): r for r in gb.submissions()}
    wrong = {}
    for key, points in expected.items():
        r = results.get(key)
        student, exercise = key
        name = student.split("-", 2)[2]
        misses = next(s.misses for s in SHORTCUTS[exercise] if s.name == name)
        failed = sorted(t.test for t in r.tests if t.points < t.max_points) if r else None
        if r is None or r.total != points or failed != sorted(misses):
            wrong[key] = (r and r.total, points, failed, sorted(misses), r and r.message)
    assert not wrong, wrong
    assert rc == 0
