"""Release and feedback: drop ``=== BEGIN MARK SCHEME ===`` … ``=== END MARK SCHEME ===`` regions of task cells."""

import re

from nbconvert.preprocessors import Preprocessor
from traitlets import Bool, Unicode

from ..exercise import ExerciseError, grade_id, is_task

ATTACHMENT = re.compile(r"!\[.*\]\(attachment:.+?\)")


class MarkSchemeError(ExerciseError):
    """A mark scheme region that cannot be removed safely (the message names the cell and what to do)."""


class ClearMarkScheme(Preprocessor):
    """Students never see the mark scheme of a task: not in released notebooks, not in feedback.

    As nbgrader's release does it: every line from one holding ``begin`` to the next one holding ``end`` goes,
    those two lines included, wherever the words stand in the line.  A region that nbgrader refuses is refused
    here too (:class:`MarkSchemeError`), since what it would leave might show the scheme: one opened twice, one
    never closed, one in a cell that is not a task, one holding an image attached to the cell (the attachment
    would stay in the released cell).  With ``strict`` off (feedback, whose task cells come from a source that
    was released), only task cells are cleared and nothing is refused: a region never closed goes to the end of
    the cell, and what students wrote in their own cells is left as it is.
    """

    begin = Unicode("BEGIN MARK SCHEME", help="What a line opening a mark scheme region holds.").tag(config=True)
    end = Unicode("END MARK SCHEME", help="What a line closing a mark scheme region holds.").tag(config=True)
    strict = Bool(True, help="Refuse what nbgrader's release refuses (True: release); False: clear task cells "
                  "only, never raising (feedback).").tag(config=True)

    def preprocess(self, nb, resources):
        nb, resources = super().preprocess(nb, resources)
        nb.metadata.pop("celltoolbar", None)  # the create-assignment toolbar's setting, as nbgrader drops it
        return nb, resources

    def preprocess_cell(self, cell, resources, index):
        if self.begin not in cell.source and self.end not in cell.source or not (self.strict or is_task(cell)):
            return cell, resources
        where = f"cell {grade_id(cell) or index!r}"
        kept, inside, found = [], False, False
        for line in cell.source.split("\n"):
            if self.begin in line:
                if inside and self.strict:
                    raise MarkSchemeError(f"{where}: a mark scheme region is opened again before '{self.end}'; "
                                          "close each region before the next")
                inside = found = True
            elif self.end in line:
                inside = False
            elif inside and self.strict and ATTACHMENT.search(line):
                raise MarkSchemeError(f"{where}: the mark scheme shows an image attached to the cell, which would "
                                      "reach students with the released cell; embed the image in the scheme "
                                      "instead (a link or a data: URL)")
            elif not inside:
                kept.append(line)
        if inside and self.strict:
            raise MarkSchemeError(f"{where}: a mark scheme region is not closed by '{self.end}'; close it")
        if found and not is_task(cell) and self.strict:
            raise MarkSchemeError(f"{where}: a mark scheme region in a cell that is not a task; make the cell a "
                                  "task ('Manually graded task' in nbgrader's toolbar) or remove the region")
        cell.source = "\n".join(kept)
        return cell, resources
