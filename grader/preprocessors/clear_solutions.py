"""Release: replace each ``### BEGIN SOLUTION`` … ``### END SOLUTION`` region with a stub."""

import re

from nbconvert.preprocessors import Preprocessor
from traitlets import Unicode

from ..exercise import is_solution

REGION = re.compile(r"^([ \t]*)### BEGIN SOLUTION[^\n]*\n.*?^[ \t]*### END SOLUTION[^\n]*(\n|$)", re.M | re.S)


class ClearSolutions(Preprocessor):
    """Student version: solution code becomes a stub that raises NotImplementedError."""

    code_stub = Unicode(
        "# YOUR CODE HERE\nraise NotImplementedError()\n",
        help="What replaces a solution region in a code cell (indented like the region).",
    ).tag(config=True)
    text_stub = Unicode("YOUR ANSWER HERE", help="What replaces a solution markdown cell.").tag(config=True)

    def preprocess_cell(self, cell, resources, index):
        if cell.cell_type == "code" and "### BEGIN SOLUTION" in cell.source:
            def stub(match):
                indent = match.group(1)
                return "".join(indent + line + "\n" for line in self.code_stub.splitlines())
            cell.source = REGION.sub(stub, cell.source).rstrip("\n")
        elif cell.cell_type == "markdown" and is_solution(cell):
            cell.source = self.text_stub
        return cell, resources
