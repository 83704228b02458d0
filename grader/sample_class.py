"""A deterministic sample class: every student's notebook for every exercise, and the score it should get.

Kinds of work (the same seed always gives the same class):

- ``complete``: every solution filled in;
- ``partial``: the first few solutions filled in, the rest left as released;
- ``blank``: the released notebook, untouched;
- ``erroring``: solutions from some question on raise an error, plus a scratch cell that fails;
- ``tampering``: a blank notebook whose test cells were edited to pass (they are restored: 0 points).

A test's expected points follow from position: a test earns its points when every
solution cell before it is filled in (tests use only what came before them).
"""

from __future__ import annotations

import random
from pathlib import Path

import nbformat
from nbformat.v4 import new_code_cell

from .exercise import Exercise, is_solution, is_test, nbgrader
from .release import student_version
from .shortcuts import SHORTCUTS, Shortcut

KINDS = ("complete", "partial", "blank", "erroring", "tampering")


def fill(exercise: Exercise, solved: int, broken: bool):
    """The student version with the first ``solved`` solutions from the source; later ones broken or left blank."""
    nb, _ = student_version(exercise.nb)
    sources = [c for c in exercise.nb.cells if is_solution(c) and c.cell_type == "code"]
    k = 0
    for cell in nb.cells:
        if is_solution(cell) and cell.cell_type == "code":
            if k < solved:
                cell.source = "\n".join(line for line in sources[k].source.splitlines()
                                         if line.strip() not in ("### BEGIN SOLUTION", "### END SOLUTION"))
            elif broken:
                cell.source = "raise RuntimeError('my code is not finished')"
            k += 1
    return nb, k


def expected_points(exercise: Exercise, solved: int) -> float:
    points, seen = 0.0, 0
    for cell in exercise.nb.cells:
        if is_solution(cell) and cell.cell_type == "code":
            seen += 1
        elif is_test(cell) and seen <= solved:
            points += float(nbgrader(cell).get("points", 0))
    return points


def make_class(exercises: dict[str, Exercise], out: str | Path, students: int = 12, seed: int = 2024,
               shortcuts: bool = False, shortcuts_each: int | None = None) -> dict:
    """Write ``out/<student>/<exercise>.ipynb``; return {(student, exercise): expected points}.

    With ``shortcuts``, also the students of :data:`grader.shortcuts.SHORTCUTS`, one submission each (with
    ``shortcuts_each``, that many per exercise: the first ones that do not wait on purpose)."""
    rng = random.Random(seed)
    out = Path(out)
    expected = {}
    for i in range(students):
        kind = KINDS[i % len(KINDS)]
        student = f"student{i + 1:02d}-{kind}"
        (out / student).mkdir(parents=True, exist_ok=True)
        for name, exercise in exercises.items():
            n = sum(1 for c in exercise.nb.cells if is_solution(c) and c.cell_type == "code")
            solved = {"complete": n, "blank": 0, "tampering": 0}.get(kind, rng.randint(1, max(1, n - 1)))
            nb, _ = fill(exercise, solved, broken=kind == "erroring")
            if kind == "erroring":
                nb.cells.insert(len(nb.cells) // 2, new_code_cell("scratch = undefined_name  # a stray experiment"))
            if kind == "tampering":
                for cell in nb.cells:
                    if is_test(cell):
                        cell.source = "assert True  # looks fine to me"
            nbformat.write(nb, out / student / f"{name}.ipynb")
            expected[(student, name)] = expected_points(exercise, solved)
    if shortcuts:
        expected.update(write_shortcuts(exercises, out, shortcuts_each))
    return expected


def shortcut_notebook(exercise: Exercise, *shortcuts: Shortcut):
    """The complete notebook with the solution cell of each shortcut (``shortcut.question``, one shortcut per cell)
    replaced by its ``shortcut.source``."""
    n = sum(1 for c in exercise.nb.cells if is_solution(c) and c.cell_type == "code")
    nb, _ = fill(exercise, n, broken=False)
    questions = [shortcut.question for shortcut in shortcuts]
    if len(set(questions)) != len(questions):
        raise ValueError(f"{exercise.name}: two shortcuts replace the same solution cell ({questions})")
    for shortcut in shortcuts:
        cells = [c for c in nb.cells if nbgrader(c).get("grade_id") == shortcut.question and is_solution(c)]
        if len(cells) != 1:
            raise ValueError(f"{exercise.name}: shortcut {shortcut.name!r} names no solution cell "
                             f"{shortcut.question!r}")
        cells[0].source = shortcut.source
    return nb


def write_shortcuts(exercises: dict[str, Exercise], out: Path, each: int | None = None) -> dict:
    expected = {}
    for name, exercise in exercises.items():
        chosen = SHORTCUTS.get(name, [])
        if each is not None:
            chosen = [s for s in chosen if "sleep" not in s.source][:each]
        for shortcut in chosen:
            student = f"shortcut-{name[:2]}-{shortcut.name}"
            (out / student).mkdir(parents=True, exist_ok=True)
            nbformat.write(shortcut_notebook(exercise, shortcut), out / student / f"{name}.ipynb")
            missed = sum(points for test, points in exercise.tests.items() if test in shortcut.misses)
            expected[(student, name)] = exercise.max_points - missed
    return expected


