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


def make_class(exercises: dict[str, Exercise], out: str | Path, students: int = 12, seed: int = 2024) -> dict:
    """Write ``out/<student>/<exercise>.ipynb``; return {(student, exercise): expected points}."""
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
    return expected


