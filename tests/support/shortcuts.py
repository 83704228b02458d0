"""The shortcut students' class (samples/, read by grader/shortcuts.py), graded for real in sealed boxes as the demo
grades them, and the checks made on it.

The shortcut students of an exercise are handed in several to a submission (:func:`together`), each submission
checked shortcut by shortcut: 100 submissions for 288 students.  Grading them is still among the suite's longest jobs,
and much of it is waiting (exercise 16's tests hold tasks back on
purpose, a wrong answer waits out a test's patience, exercise 22 starts real clusters), so it is split into
:data:`GROUPS` of about equal length, one test module each (tests/grader/test_shortcuts_*.py): pytest-xdist runs a
file at a time per worker, so the groups are graded side by side."""

from __future__ import annotations

from pathlib import Path

import nbformat
import pytest

from grader import grade
from grader.exercise import load_exercises
from grader.gradebook import Gradebook
from grader.sample_class import KINDS, make_class, shortcut_notebook
from grader.shortcuts import DURING, RESTORED, SHORTCUTS, Shortcut

ROOT = Path(__file__).resolve().parents[2]
EXERCISES = sorted(p.stem for p in (ROOT / "exercises").glob("*.ipynb"))

# The exercises of each group, by number: their submissions' grading CPU seconds (summed, measured with 4 workers on
# 2 cores) are about equal, ~130 s each; tests/grader/test_shortcuts.py checks that every exercise is in one group.
GROUPS = (
    ("16", "18", "14", "03", "07"),
    ("09", "01", "20", "02", "05", "19"),
    ("22", "11", "06", "17", "12", "04"),
)


def group(n: int) -> list[str]:
    """The exercises (file stems) of GROUPS[n]."""
    return [name for name in EXERCISES if name.split("-", 1)[0] in GROUPS[n]]


def guard_flags(flags: list[str]) -> list[str]:
    """The flags of the kernel's guard: what it put back before a test, what changed while a test ran."""
    return [f for f in flags if f.endswith(RESTORED) or DURING in f]


# The sample students (grader.sample_class.KINDS) graded beside the shortcut students.  What the exercise itself must
# pass, on every exercise: its solutions score full marks with no flag, its release scores nothing.  The other kinds
# try the grader's handling of a notebook (answers left undone, a stray cell that fails, test cells edited), which
# is the same whatever the exercise: they take turns over the exercises, three or four each, not on all, and skip those
# of COSTLY.
ON_EVERY_EXERCISE = ("complete", "blank")
TAKING_TURNS = tuple(kind for kind in KINDS if kind not in ON_EVERY_EXERCISE)
# The exercises (by number) whose submissions cost the most to grade: 4-20 CPU s each where the others cost 1.5-3
# (grading the complete student of each alone, machine CPU, start included); exercise 22's tests start four clusters.
COSTLY = ("09", "11", "16", "19", "20", "22")


def sample_kinds(exercise: str) -> tuple[str, ...]:
    """The kinds of sample student graded on ``exercise`` (a file stem of exercises/)."""
    turns = [name for name in EXERCISES if name.split("-", 1)[0] not in COSTLY]
    if exercise not in turns:
        return ON_EVERY_EXERCISE
    return (*ON_EVERY_EXERCISE, TAKING_TURNS[turns.index(exercise) % len(TAKING_TURNS)])


def together(shortcuts: list[Shortcut]) -> list[tuple[Shortcut, ...]]:
    """The shortcut students of one exercise put together into as few submissions as can hold them, first fit in file
    order: each submission takes at most one shortcut per solution cell, and of shortcuts whose missed tests do not
    overlap and of which at most one is flagged, so that each submission must miss exactly the union of its
    shortcuts' tests and raise exactly their flags.  Each shortcut was written against the complete notebook and
    misses only the tests it names (the others pass): a later test never depends on an earlier answer it does not
    name.  A regression that lets one shortcut pass a test it must miss is still seen, since no other shortcut of
    its submission misses that test; one that makes a shortcut fail more is seen as an extra failed test."""
    out: list[list[Shortcut]] = []
    for shortcut in shortcuts:
        for submission in out:
            if (all(s.question != shortcut.question for s in submission)
                    and not set(shortcut.misses) & {m for s in submission for m in s.misses}
                    and not (shortcut.flags and any(s.flags for s in submission))):
                submission.append(shortcut)
                break
        else:
            out.append([shortcut])
    return [tuple(submission) for submission in out]


def student_of(name: str, shortcuts: tuple[Shortcut, ...]) -> str:
    """The sample class's student who hands in ``shortcuts`` (one submission) for the exercise ``name``."""
    return f"shortcut-{name[:2]}-" + "+".join(s.name for s in shortcuts)


def grade_class(chosen: list[str], out: Path) -> tuple[dict, dict, int]:
    """Grade the shortcut students of the exercises ``chosen``, put :func:`together`, and the sample students of
    :func:`sample_kinds`: (expected points, {(student, exercise): result}, the run's exit status)."""
    exercises = load_exercises(ROOT / "exercises")
    expected = make_class({name: exercises[name] for name in chosen}, out / "class", students=len(KINDS))
    for student, name in list(expected):
        if student.split("-", 1)[1] not in sample_kinds(name):
            (out / "class" / student / f"{name}.ipynb").unlink()
            del expected[(student, name)]
    for name in chosen:
        exercise = exercises[name]
        for shortcuts in together(SHORTCUTS[name]):
            student = student_of(name, shortcuts)
            (out / "class" / student).mkdir(parents=True)
            nbformat.write(shortcut_notebook(exercise, *shortcuts), out / "class" / student / f"{name}.ipynb")
            missed = {m for s in shortcuts for m in s.misses}
            expected[(student, name)] = exercise.max_points - sum(exercise.tests[m] for m in missed)
    rc = grade.main(submissions=out / "class", source=ROOT / "exercises", gradebook=out / "g.sqlite",
                    quiet=True, timeout=60, workers=4)  # most of these students wait: four at once
    with Gradebook(out / "g.sqlite") as gb:
        results = {(r.student, r.exercise): r for r in gb.submissions()}
    return expected, results, rc


def chosen_exercises(request) -> list[str]:
    """The exercises of the requesting module's tests this session selected (``-k 08`` grades only 08's)."""
    return sorted({item.callspec.params["exercise"] for item in request.session.items
                   if item.module is request.module and hasattr(item, "callspec")})


def check_shortcuts(graded: tuple[dict, dict, int], exercise: str) -> None:
    """Each shortcut student of ``exercise`` misses exactly the tests it names and is flagged for exactly what it
    did to the tests' machinery (several of them to a submission, :func:`together`: the submission misses exactly
    the union and raises exactly their flags); the run ended well."""
    expected, results, rc = graded
    everyone = together(SHORTCUTS[exercise])
    assert everyone, f"{exercise} has no shortcut students"
    wrong = {}
    for shortcuts in everyone:
        key = (student_of(exercise, shortcuts), exercise)
        r = results.get(key)
        failed = {t.test for t in r.tests if t.points < t.max_points} if r else set()
        flags = guard_flags(r.flags) if r else []
        why = {}
        for s in shortcuts:
            passed = sorted(set(s.misses) - failed)
            unraised = [text for text in s.flags if not any(text in f for f in flags)]
            if r is not None and (passed or unraised):
                why[s.name] = {"passed the tests it must miss": passed, "not flagged for": unraised}
        extra_failed = sorted(failed - {m for s in shortcuts for m in s.misses})
        extra_flags = [f for f in flags if not any(text in f for s in shortcuts for text in s.flags)]
        if r is None or r.total != expected[key] or why or extra_failed or extra_flags:
            lost = {t.test: (t.status, t.message) for t in r.tests if t.points < t.max_points} if r else None
            wrong[key[0]] = {"scored": r and r.total, "expected": expected[key], "shortcuts": why,
                             "failed besides": extra_failed, "flagged besides": extra_flags,
                             "message": r and r.message, "lost": lost}
    assert not wrong, wrong
    assert rc == 0


def check_sample_class(graded: tuple[dict, dict, int], exercise: str) -> None:
    """Graded as the grader grades (the guard keeping the set-up's names, the modules the tests rely on and their
    submodules, the tests' helper module; the audit hook watching), a student of each kind of :func:`sample_kinds`
    scores what the sample class expects and nothing its code did is flagged (the tampering kind's test cells are
    restored, which is not
    student code's doing).  The complete student (the source's solutions, as a student hands them in) passes every
    test with full marks and the blank one (the released version as it is) fails every test, both with no flag at
    all: the exercise is right and its release is not already solved."""
    expected, results, _ = graded
    mine = {key: points for key, points in expected.items() if key[1] == exercise and key[0].startswith("student")}
    assert sorted(key[0].split("-", 1)[1] for key in mine) == sorted(sample_kinds(exercise))
    wrong = {}
    for key, points in mine.items():
        r = results.get(key)
        kind = key[0].split("-", 1)[1]
        flags = [f for f in r.flags if "student code" in f or kind in ("complete", "blank")] if r else []
        statuses = {t.status for t in r.tests} if r else set()
        whole = {"complete": statuses == {"passed"} and points == r.possible > 0,
                 "blank": statuses == {"failed"} and points == 0}.get(kind, True) if r else False
        if r is None or r.total != points or flags or not whole:
            lost = {t.test: (t.status, t.message) for t in r.tests if t.points < t.max_points} if r else None
            wrong[key] = (r and r.total, points, flags, sorted(statuses), r and r.message, lost)
    assert not wrong, wrong


def group_tests(n: int) -> dict:
    """The module-scoped fixture ``graded`` and the two tests, parametrized by the exercises of GROUPS[n], for a
    test module to take as its own (``globals().update(group_tests(0))``)."""

    @pytest.fixture(scope="module")
    def graded(request, tmp_path_factory):
        return grade_class(chosen_exercises(request), tmp_path_factory.mktemp("shortcuts"))

    @pytest.mark.timeout(900)
    @pytest.mark.parametrize("exercise", group(n))
    def test_each_shortcut_misses_exactly_the_tests_it_names(graded, exercise):
        check_shortcuts(graded, exercise)

    @pytest.mark.timeout(900)
    @pytest.mark.parametrize("exercise", group(n))
    def test_the_sample_class_scores_as_expected_and_no_student_code_is_flagged(graded, exercise):
        check_sample_class(graded, exercise)

    return {"graded": graded,
            test_each_shortcut_misses_exactly_the_tests_it_names.__name__:
                test_each_shortcut_misses_exactly_the_tests_it_names,
            test_the_sample_class_scores_as_expected_and_no_student_code_is_flagged.__name__:
                test_the_sample_class_scores_as_expected_and_no_student_code_is_flagged}
