"""Feedback: a score summary at the top and each test's result under its cell."""

from nbconvert.preprocessors import Preprocessor
from nbformat.v4 import new_markdown_cell

from ..exercise import grade_id, is_test

ICON = {"passed": "✅", "failed": "❌", "timeout": "⏱️", "not-run": "⏹️"}


def _md(text: str) -> str:
    return text.replace("<", "&lt;").replace(">", "&gt;")


class ReportTests(Preprocessor):
    """Reads the :class:`~grader.results.SubmissionResult` from ``resources["grader_result"]``."""

    def preprocess(self, nb, resources):
        result = resources["grader_result"]
        by_test = {t.test: t for t in result.tests}
        lines = [f"# Feedback: {result.exercise} ({result.student})", "",
                 f"**Score: {result.total:g} / {result.possible:g}**", ""]
        if result.status == "error":
            lines += [f"**This submission could not be graded:** {_md(result.message)}", ""]
        lines += ["| test | points | result | message |", "|---|---|---|---|"]
        lines += [f"| {t.test} | {t.points:g} / {t.max_points:g} | {ICON.get(t.status, '')} {t.status} "
                  f"| {_md(t.message).replace('|', '/')} |" for t in result.tests]
        lines += [""] + [f"- ⚠️ {_md(flag)}" for flag in result.flags]
        cells = [new_markdown_cell("\n".join(lines))]
        for cell in nb.cells:
            cells.append(cell)
            test = by_test.get(grade_id(cell)) if is_test(cell) else None
            if test:
                text = f"**{ICON.get(test.status, '')} {test.test}: {test.points:g} / {test.max_points:g}** ({test.status})"
                cells.append(new_markdown_cell(text + (f" — `{_md(test.message)}`" if test.message else "")))
        nb.cells = cells
        return nb, resources
