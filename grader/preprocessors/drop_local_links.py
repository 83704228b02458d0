"""Feedback: links to the course's own files become plain text (a feedback page is read on its own)."""

import re

from nbconvert.preprocessors import Preprocessor

LINK = re.compile(r"(?<!!)\[(?P<text>[^\]\n]*)\]\((?P<target>[^)\s]+)(?:\s+\"[^\"]*\")?\)")


class DropLocalLinks(Preprocessor):
    """``[text](../notebooks/05.ipynb)`` becomes ``text``; web links and links within the page stay."""

    def preprocess_cell(self, cell, resources, index):
        if cell.cell_type == "markdown":
            cell.source = LINK.sub(lambda m: m[0] if re.match(r"^(https?:|mailto:|#)", m["target"]) else m["text"],
                                   cell.source)
        return cell, resources
