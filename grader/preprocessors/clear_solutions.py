"""Release: replace each ``### BEGIN SOLUTION`` … ``### END SOLUTION`` region with a stub."""

import re

from nbconvert.preprocessors import Preprocessor
from traitlets import Unicode

from ..exercise import grade_id, is_solution

BEGIN, END = "### BEGIN SOLUTION", "### END SOLUTION"
REGION = re.compile(r"^([ \t]*)### BEGIN SOLUTION[^\n]*\n.*?^[ \t]*### END SOLUTION[^\n]*(\n|$)", re.M | re.S)


class ClearSolutions(Preprocessor):
    """Student version: solution code becomes a stub that raises NotImplementedError.

    As nbgrader does, a solution cell without ``### BEGIN SOLUTION`` markers is replaced by the stub as a
    whole, and so is one whose region is never closed (nothing of the solution may leak); each such cell is
    named in ``resources["release_notes"]``.
    """

    code_stub = Unicode(
        "# YOUR CODE HERE\nraise NotImplementedError()\n",
        help="What replaces a solution region in a code cell (indented like the region).",
    ).tag(config=True)
    text_stub = Unicode("YOUR ANSWER HERE", help="What replaces a solution markdown cell.").tag(config=True)

    def preprocess_cell(self, cell, resources, index):
        notes = resources.setdefault("release_notes", [])
        where = f"cell {grade_id(cell) or index!r}"
        if cell.cell_type == "code" and BEGIN in cell.source:
            def stub(match):
                indent = match.group(1)
                return "".join(indent + line + "\n" for line in self.code_stub.splitlines())
            cleared = REGION.sub(stub, cell.source).rstrip("\n")
            if BEGIN in cleared or END in cleared:  # a region never closed (or an END without its BEGIN)
                cleared = self.code_stub.rstrip("\n")
                notes.append(f"{where}: a '{BEGIN}' region is not closed by '{END}'; the whole cell was "
                             "released as the stub")
            cell.source = cleared
        elif cell.cell_type == "code" and is_solution(cell):
            cell.source = self.code_stub.rstrip("\n")
            notes.append(f"{where}: a solution cell without '{BEGIN}' markers; the whole cell was released as "
                         "the stub (mark the part to remove to keep the rest)")
        elif cell.cell_type == "markdown" and is_solution(cell):
            cell.source = self.text_stub
        return cell, resources
