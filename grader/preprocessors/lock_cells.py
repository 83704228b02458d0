"""Release: lock read-only cells in the editor and record their checksums."""

import hashlib

from nbconvert.preprocessors import Preprocessor

from ..exercise import grade_id, is_locked


def checksum(cell) -> str:
    """sha256 of what a locked cell must keep: its type and source."""
    return hashlib.sha256(f"{cell.cell_type}\n{cell.source}".encode()).hexdigest()


class LockCells(Preprocessor):
    """Test and locked cells become non-editable, non-deletable; checksums go to resources."""

    def preprocess(self, nb, resources):
        sums = resources.setdefault("checksums", {})
        for cell in nb.cells:
            if is_locked(cell):
                cell.metadata["editable"] = False
                cell.metadata["deletable"] = False
                cell.metadata["nbgrader"]["locked"] = True
                sums[grade_id(cell)] = checksum(cell)
        return nb, resources
