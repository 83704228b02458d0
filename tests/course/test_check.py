"""``course check``: a student runs the public tests of their saved notebook against a fresh cluster."""

import subprocess
import sys
from pathlib import Path

import pytest

from grader.exercise import load_exercises
from grader.release import student_version
from support.builders import solved, write

ROOT = Path(__file__).resolve().parents[2]
pytestmark = pytest.mark.timeout(300)


def check(path):
    return subprocess.run([sys.executable, "-m", "course", "check", str(path)], capture_output=True, text=True,
                          timeout=240)


def test_check_passes_a_solved_notebook(tmp_path):
    exercise = load_exercises(ROOT / "exercises")["04-write-parallel-functions"]
    released = student_version(exercise.nb)[0]
    path = write(solved(exercise), tmp_path / "04-write-parallel-functions.ipynb")
    out = check(path)
    assert out.returncode == 0, out.stdout + out.stderr
    public = [c.metadata["nbgrader"]["grade_id"] for c in released.cells
              if c.metadata.get("nbgrader", {}).get("grade")]
    for gid in public:
        assert f"PASS     {gid}" in out.stdout
    assert f"Public tests: {exercise.max_points:g}/{exercise.max_points:g} points" in out.stdout
    assert "without encryption" not in out.stdout + out.stderr  # the student sees results, not transport warnings


def test_check_reports_failures_of_the_released_version(tmp_path):
    exercise = load_exercises(ROOT / "exercises")["02-use-direct-views"]
    path = write(student_version(exercise.nb)[0], tmp_path / "02-use-direct-views.ipynb")
    out = check(path)
    assert out.returncode == 1
    assert "FAILED" in out.stdout
    assert "NotImplementedError" in out.stdout or "NameError" in out.stdout
    assert "Public tests: 0/" in out.stdout


def test_check_of_a_missing_file_says_so(tmp_path):
    out = check(tmp_path / "nope.ipynb")
    assert out.returncode == 2 and "nope.ipynb" in out.stderr


def test_check_in_a_notebook_returns_nothing_to_show(tmp_path, capsys):
    """``check()`` as a cell's last line must leave no ``Out[n]: 1`` under its report (the command has the code)."""
    from course import check as check_in_notebook
    from course.check import run

    assert check_in_notebook(tmp_path / "nope.ipynb") is None
    assert run(tmp_path / "nope.ipynb") == 2
    assert "nope.ipynb: no such notebook" in capsys.readouterr().err
