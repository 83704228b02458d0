"""Grade: rebuild a submission on the source's skeleton, with every locked cell as the source has it."""

import copy

from nbconvert.preprocessors import Preprocessor
from traitlets import Any

from ..exercise import grade_id, is_locked, nbgrader, plain_text, points
from ..protect import protection
from ..state import state_of


class RestoreTests(Preprocessor):
    """Locked and test cells (hidden tests included) come from the source, in the source's order.

    A student's solution cell keeps its code under the source's metadata; cells the
    student added stay after the cell they followed.  Anything that differs from the
    source (a changed, deleted, duplicated or moved locked cell, forged metadata) is
    put right and reported in the grading state's ``flags``.
    """

    source = Any(help="The instructor's source notebook (nbformat.NotebookNode).")
    released = Any(help="The student version of the source, to tell what the student changed.")

    def preprocess(self, nb, resources) -> tuple:
        state = state_of(resources)
        state.protection = protection(self.source)
        flags = state.flags
        by_id = {grade_id(c): c for c in self.source.cells if grade_id(c)}
        given = {grade_id(c): c for c in self.released.cells if grade_id(c)}
        order = [grade_id(c) for c in self.source.cells if grade_id(c)]
        kept: dict = {}  # grade_id -> the student's cell
        extras: dict = {None: []}  # grade_id of the anchor before them -> cells the student added
        anchor = None
        for cell in nb.cells:
            gid = grade_id(cell)
            if gid in by_id and gid not in kept:
                kept[gid] = cell
                anchor = gid
                continue
            if gid in by_id:
                flags.append(f"cell {gid!r} appears twice; the copy was "
                             + ("removed" if is_locked(by_id[gid]) else "kept as an ordinary cell"))
                if is_locked(by_id[gid]):
                    continue
            elif nbgrader(cell).get("grade") or nbgrader(cell).get("locked"):
                flags.append(f"a cell claims to be graded or locked as {gid!r}, which the exercise does not have; "
                             "it counts for nothing")
            cell = copy.deepcopy(cell)
            cell.metadata.pop("nbgrader", None)
            extras.setdefault(anchor, []).append(cell)
        moved = _moved(list(kept), [g for g in order if g in kept])
        if moved:
            flags.append(f"cells {', '.join(map(repr, moved))} were moved; the exercise's order was restored")

        cells = list(extras[None])
        for gid in order:
            cells.append(self._restore(gid, by_id[gid], given[gid], kept.get(gid), flags))
            cells.extend(extras.get(gid, []))
        nb.cells = cells
        return nb, resources

    @staticmethod
    def _restore(gid, source_cell, given_cell, cell, flags):
        """The cell to grade for ``gid``: source_cell as the source has it, given_cell as released."""
        if cell is None:  # a deleted solution comes back as the student got it, not with the solution
            flags.append(f"cell {gid!r} was deleted and has been restored")
            restored = copy.deepcopy(source_cell)
            if not is_locked(source_cell):
                restored.source = given_cell.source
            return restored
        if _meaning(cell) != _meaning(given_cell):
            flags.append(f"the metadata of cell {gid!r} was changed and has been restored")
        if is_locked(source_cell):
            if plain_text(cell.source) != plain_text(given_cell.source) or cell.cell_type != given_cell.cell_type:
                flags.append(f"locked cell {gid!r} was changed and has been restored")
            return copy.deepcopy(source_cell)
        restored = copy.deepcopy(source_cell)
        restored.source = cell.source
        return restored


def _moved(seen: list, expected: list) -> list:
    """The cells out of place: those not in a longest run that keeps the expected order."""
    position = {g: i for i, g in enumerate(expected)}
    ranks = [position[g] for g in seen]
    best: list[list[int]] = []  # best[i]: longest increasing run ending at i (indices into seen)
    for i, r in enumerate(ranks):
        prev = max((best[j] for j in range(i) if ranks[j] < r), key=len, default=[])
        best.append(prev + [i])
    longest: list[int] = max(best, key=len) if best else []
    keep = set(longest)
    return [g for i, g in enumerate(seen) if i not in keep]


def _meaning(cell) -> dict:
    """What a cell's nbgrader metadata decides, as grading reads it: not its spelling (a missing flag is false,
    2 points are 2.0) nor bookkeeping that releases differ in (checksum, cell_type, schema_version, locked: a
    locked cell is restored from the source whatever its flag says, and an edit of it is reported by the
    locked-cell check, as is a changed cell type)."""
    meta = nbgrader(cell)
    graded = bool(meta.get("grade")) or bool(meta.get("task"))
    return {"grade_id": grade_id(cell), "grade": bool(meta.get("grade")), "task": bool(meta.get("task")),
            "solution": bool(meta.get("solution")), "points": points(cell) if graded else None}
