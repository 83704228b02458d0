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
    """Students may not change it: a test cell, or one explicitly locked that is not an answer (as nbgrader has it)."""
    if is_solution(cell):
        return False
    return bool(nbgrader(cell).get("locked")) or is_test(cell)


def is_solution(cell) -> bool:
    return bool(nbgrader(cell).get("solution"))


def is_task(cell) -> bool:
    """A task: a (markdown) cell worth points, graded by hand from what the student wrote after it."""
    return bool(nbgrader(cell).get("task"))


def is_manual(cell) -> bool:
    """Graded by hand: an answer that is both a solution and graded (markdown or code), or a task."""
    meta = nbgrader(cell)
    return bool(meta.get("grade")) and bool(meta.get("solution")) or is_task(cell)


def kind_of(cell) -> str | None:
    """How a graded cell is scored: "auto" (a test), "manual" (an answer graded by hand), "task"; else None."""
    if is_test(cell):
        return "auto"
    if is_task(cell):
        return "task"
    if is_manual(cell):
        return "manual"
    return None


def graded_id(cell) -> str:
    """The grade_id of a graded cell, which it always has: load_exercise refuses a graded cell without one (and
    restore_tests gives a submission's graded cells the source's metadata)."""
    gid = grade_id(cell)
    if gid is None:
        raise ExerciseError(f"a graded cell has no grade_id: {cell.get('source', '')[:40]!r}")
    return gid


@dataclass
class Exercise:
    name: str  # "03-map-over-engines", or any notebook name in an nbgrader course ("problem1")
    path: Path
    nb: nbformat.NotebookNode
    assignment: str = ""  # the nbgrader assignment it belongs to ("ps1"); "" in this course's flat layout

    @property
    def key(self) -> str:
        """What names it among all exercises graded together: ``name``, or ``assignment/name``."""
        return f"{self.assignment}/{self.name}" if self.assignment else self.name

    @property
    def tests(self) -> dict[str, float]:
        """grade_id -> points of every autograded test cell, in notebook order."""
        return {graded_id(c): points(c) for c in self.nb.cells if is_test(c)}

    @property
    def graded(self) -> dict[str, tuple[float, str]]:
        """grade_id -> (points, kind) of every cell worth points (tests, answers graded by hand, tasks)."""
        return {graded_id(c): (points(c), kind) for c in self.nb.cells if (kind := kind_of(c))}

    @property
    def max_points(self) -> float:
        return sum(p for p, _ in self.graded.values())


def plain_text(text: str) -> str:
    """Source text as compared: without trailing spaces and blank lines (what editors and nbgrader change)."""
    return "\n".join(line.rstrip() for line in text.splitlines() if line.strip())


def points(cell) -> float:
    try:
        return float(nbgrader(cell).get("points", 0) or 0)
    except (TypeError, ValueError):
        return 0.0


def points_problem(cell) -> str | None:
    """Why the points of a graded cell (a test, an answer graded by hand, a task) are unusable, as nbgrader refuses
    them, or None.

    ``nbgrader generate_assignment`` stops on a graded cell whose ``points`` are missing ("does not have points"),
    empty or not a number (its schema wants a number), so such a source is refused here too rather than graded
    as worth 0.  Only the oldest metadata (schema 0, before ``schema_version`` existed) had empty or missing
    points read as 0, by ``nbgrader update``, and that still holds."""
    if not kind_of(cell):
        return None
    meta = nbgrader(cell)
    value = meta.get("points")
    if not meta.get("schema_version") and (value is None or value == ""):
        return None
    if "points" not in meta:
        return "is graded but has no points"
    if value is None or isinstance(value, str) and not value.strip():
        return "is graded but its points are empty"
    try:
        if isinstance(value, bool):
            raise TypeError
        float(value)
    except (TypeError, ValueError):
        return f"is graded but its points {repr(value)[:40]} are not a number"
    return None


def load_exercise(path: str | Path, assignment: str = "") -> Exercise:
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
        problem = points_problem(cell)
        if problem:
            raise ExerciseError(f"{path}: cell {gid!r} (cell {index}) {problem}, which nbgrader refuses too; give it "
                                "a number of points (0 if it is worth nothing)")
        if kind_of(cell) and points(cell) < 0:
            raise ExerciseError(f"{path}: cell {gid!r} has negative points")
    return Exercise(path.stem, path, nb, assignment)


def is_nbgrader_course(path: str | Path) -> bool:
    """A course directory in nbgrader's layout: ``source/<assignment>/*.ipynb`` (and ``submitted/`` once collected)."""
    return (Path(path) / "source").is_dir() and not NAME_RE.match(Path(path).name)


def assignments_of(course: str | Path) -> list[str]:
    """The assignments of an nbgrader course: the folders of ``source/`` that hold notebooks."""
    source = Path(course) / "source"
    return sorted(p.name for p in source.iterdir()
                  if p.is_dir() and not p.name.startswith(".") and any(p.glob("*.ipynb")))


def load_course(course: str | Path, assignment: str | None = None) -> dict[str, Exercise]:
    """Every notebook of ``source/<assignment>/`` (of every assignment if None), by ``assignment/notebook``."""
    course = Path(course)
    names = assignments_of(course)
    if assignment is not None:
        if not (course / "source" / assignment).is_dir():
            hint = f"its assignments: {', '.join(names)}" if names else "it has none"
            raise ExerciseError(f"{course}/source/{assignment}: no such assignment; {hint}")
        names = [assignment]
    found = {}
    for name in names:
        for path in sorted((course / "source" / name).glob("*.ipynb")):
            exercise = load_exercise(path, name)
            found[exercise.key] = exercise
    if not found:
        raise ExerciseError(f"{course}/source: no notebooks in source/<assignment>/; is this an nbgrader course?")
    return found


def load_exercises(source: str | Path) -> dict[str, Exercise]:
    """Every ``NN-slug.ipynb`` in ``source``, by name."""
    source = Path(source)
    if not source.is_dir():
        raise ExerciseError(f"{source}: no such exercise directory; pass --source with your exercises/ folder")
    found = {p.stem: load_exercise(p) for p in sorted(source.glob("*.ipynb")) if NAME_RE.match(p.stem)}
    if not found:
        raise ExerciseError(f"{source}: no exercise notebooks (NN-name.ipynb) here; pass --source with your exercises/")
    return found
