"""Release and feedback: drop ``### BEGIN HIDDEN TESTS`` … ``### END HIDDEN TESTS`` blocks."""

import re

from nbconvert.preprocessors import Preprocessor
from traitlets import Unicode

HIDDEN = re.compile(r"^[ \t]*### BEGIN HIDDEN TESTS[^\n]*\n.*?^[ \t]*### END HIDDEN TESTS[^\n]*(\n|$)", re.M | re.S)


class RemoveHiddenTests(Preprocessor):
    """Students never see hidden tests: not in released notebooks, not in feedback."""

    placeholder = Unicode("", help="Text left where a hidden block was (empty: nothing).").tag(config=True)

    def preprocess_cell(self, cell, resources, index):
        if "### BEGIN HIDDEN TESTS" in cell.source:
            cell.source = HIDDEN.sub(self.placeholder, cell.source).rstrip("\n")
            if "### BEGIN HIDDEN TESTS" in cell.source:  # unterminated block: drop the rest
                cell.source = cell.source.split("### BEGIN HIDDEN TESTS")[0].rstrip()
        return cell, resources
