"""Feedback: a score summary at the top and each graded cell's result under it."""

from nbconvert.preprocessors import Preprocessor
from nbformat.v4 import new_markdown_cell

from ..exercise import grade_id, kind_of
from ..late import LatePolicy

ICON = {"passed": "✅", "partial": "🟡", "failed": "❌", "timeout": "⏱️", "not-run": "⏹️", "needs-grading": "📝",
        "graded-by-hand": "🖊️", "no-answer": "❌"}


def _md(text: str) -> str:
    return text.replace("<", "&lt;").replace(">", "&gt;")


class ReportTests(Preprocessor):
    """Reads the :class:`~grader.results.SubmissionResult` from ``resources["grader_result"]``."""

    def preprocess(self, nb, resources):
        result = resources["grader_result"]
        by_test = {t.test: t for t in result.tests}
        title = f"{result.assignment}/{result.exercise}" if result.assignment else result.exercise
        lines = [f"# Feedback: {title} ({result.student})", ""]
        if result.penalty:
            lines += [f"**Score: {result.final:g} / {result.possible:g}** ({result.total:g} before the late "
                      f"penalty of {result.penalty:g}: submitted {result.late_by / 3600:.1f} h after the due date; "
                      f"{LatePolicy.parse(result.late_policy).describe()})", ""]
        else:
            lines += [f"**Score: {result.total:g} / {result.possible:g}**", ""]
        if result.pending:
            lines += [f"**Still to be graded by hand:** {len(result.pending)} answer(s) worth "
                      f"{result.pending_points:g} point(s); the score above does not include them yet.", ""]
        if result.status == "error":
            lines += [f"**This submission could not be graded:** {_md(result.message)}", ""]
        lines += ["| cell | points | result | message |", "|---|---|---|---|"]
        lines += [f"| {t.test} | {t.points:g} / {t.max_points:g} | {ICON.get(t.status, '')} {t.status} "
                  f"| {_md(t.comment or t.message).replace('|', '/')} |" for t in result.tests]
        lines += [""] + [f"- ⚠️ {_md(flag)}" for flag in result.flags]
        cells = [new_markdown_cell("\n".join(lines))]
        for cell in nb.cells:
            cells.append(cell)
            test = by_test.get(grade_id(cell)) if kind_of(cell) else None
            if test:
                text = f"**{ICON.get(test.status, '')} {test.test}: {test.points:g} / {test.max_points:g}** ({test.status})"
                if test.message:
                    text += f" — `{_md(test.message)}`"
                if test.comment:
                    text += f"\n\n> **Instructor:** {_md(test.comment)}"
                cells.append(new_markdown_cell(text))
        nb.cells = cells
        return nb, resources
