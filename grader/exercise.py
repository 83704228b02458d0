"""Instructor source notebooks: find exercises and read nbgrader cell metadata."""

from __future__ import annotations

import re
from dataclasses import dataclass
from pathlib import Path

import nbformat

NAME_RE = re.compile(r"^\d\d-[a-z0-9][a-z0-9-]*$")


class ExerciseError(ValueError):
    """The instructor's source is missing or malformed."""


def nbgrader(cell) -> dict:
    """The cell's nbgrader metadata, or {} for an ordinary cell."""
    meta = cell.get("metadata", {}).get("nbgrader")
    return meta if isinstance(meta, dict) else {}


def grade_id(cell) -> str | None:
    gid = nbgrader(cell).get("grade_id")
    return gid if isinstance(gid, str) else None


def is_test(cell) -> bool:
    """An autograded test cell: code, graded, not a solution."""
    meta = nbgrader(cell)
    return cell.cell_type == "code" and bool(meta.get("grade")) and not meta.get("solution")


def is_locked(cell) -> bool:
    """Students may not change it: explicitly locked, or a test cell."""
    return bool(nbgrader(cell).get("locked")) or is_test(cell)


def is_solution(cell) -> bool:
    return bool(nbgrader(cell).get("solution"))


@dataclass
class Exercise:
    name: str  # "03-map-over-engines"
    path: Path
    nb: nbformat.NotebookNode

    @property
    def tests(self) -> dict[str, float]:
        """grade_id -> points of every test cell, in notebook order."""
        return {grade_id(c): float(nbgrader(c).get("points", 0)) for c in self.nb.cells if is_test(c)}

    @property
    def max_points(self) -> float:
        return sum(self.tests.values())


def load_exercise(path: str | Path) -> Exercise:
    path = Path(path)
    try:
        nb = nbformat.read(path, as_version=4)
    except Exception as e:
        raise ExerciseError(f"{path}: cannot read the source notebook ({e}); fix or restore it") from e
    seen: set[str] = set()
    for index, cell in enumerate(nb.cells):
        gid = grade_id(cell)
        if nbgrader(cell) and not gid:
            raise ExerciseError(f"{path}: cell {index} has nbgrader metadata but no grade_id")
        if gid in seen:
            raise ExerciseError(f"{path}: grade_id {gid!r} is used twice (cell {index})")
        if gid:
            seen.add(gid)
    return Exercise(path.stem, path, nb)


def load_exercises(source: str | Path) -> dict[str, Exercise]:
    """Every ``NN-slug.ipynb`` in ``source``, by name."""
    source = Path(source)
    if not source.is_dir():
        raise ExerciseError(f"{source}: no such exercise directory; pass --source with your exercises/ folder")
    found = {p.stem: load_exercise(p) for p in sorted(source.glob("*.ipynb")) if NAME_RE.match(p.stem)}
    if not found:
        raise ExerciseError(f"{source}: no exercise notebooks (NN-name.ipynb) here; pass --source with your exercises/")
    return found
