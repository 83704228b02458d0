"""Feedback: a score summary at the top and each graded cell's result under it."""

from html import escape

from nbconvert.preprocessors import Preprocessor
from nbformat.v4 import new_raw_cell

from ..exercise import grade_id, kind_of
from ..late import LatePolicy
from ..results import NOT_SUBMITTED

ICON = {"passed": "✅", "partial": "🟡", "failed": "❌", "timeout": "⏱️", "not-run": "⏹️", "needs-grading": "📝",
        "graded-by-hand": "🖊️", "no-answer": "❌", NOT_SUBMITTED: "📭"}


def _e(text) -> str:
    """Text from a submission (a name, a message, a flag, a comment) as HTML text: shown, never read as markup."""
    return escape(str(text), quote=True)


def html_cell(body: str):
    """A raw cell of HTML, which nbconvert's HTML template writes as it is (through the page's sanitiser, never
    through markdown), styled like a rendered markdown cell."""
    return new_raw_cell('<div class="jp-Cell jp-MarkdownCell jp-Notebook-cell"><div class="jp-RenderedHTMLCommon '
                        f'jp-RenderedMarkdown jp-MarkdownOutput grader-feedback">\n{body}\n</div></div>',
                        metadata={"raw_mimetype": "text/html"})


class ReportTests(Preprocessor):
    """Reads the :class:`~grader.results.SubmissionResult` from ``resources["grader_result"]``.

    The summary and the results are HTML built with every name, message, flag and comment escaped (they come
    from submissions: ``[x](javascript:...)`` in a message is text, not a link); the page is titled after the
    submission, not after the notebook's own metadata."""

    def preprocess(self, nb, resources):
        result = resources["grader_result"]
        by_test = {t.test: t for t in result.tests}
        title = f"{result.assignment}/{result.exercise}" if result.assignment else result.exercise
        nb.metadata["title"] = f"Feedback: {title} ({result.student})"
        parts = [f"<h1>Feedback: {_e(title)} ({_e(result.student)})</h1>"]
        if result.penalty:
            parts.append(f"<p><strong>Score: {result.final:g} / {result.possible:g}</strong> ({result.total:g} "
                         f"before the late penalty of {result.penalty:g}: submitted {result.late_by / 3600:.1f} h "
                         f"after the due date; {_e(LatePolicy.parse(result.late_policy).describe())})</p>")
        else:
            parts.append(f"<p><strong>Score: {result.total:g} / {result.possible:g}</strong></p>")
        if result.pending:
            parts.append(f"<p><strong>Still to be graded by hand:</strong> {len(result.pending)} answer(s) worth "
                         f"{result.pending_points:g} point(s); the score above does not include them yet.</p>")
        if result.status == "error":
            parts.append(f"<p><strong>This submission could not be graded:</strong> {_e(result.message)}</p>")
        if result.status == NOT_SUBMITTED:
            parts.append(f"<p><strong>Not submitted:</strong> this notebook was not handed in with the assignment, "
                         f"so it counts as 0 of its {result.possible:g} point(s).</p>")
        rows = [f"<tr><td>{_e(t.test)}</td><td>{t.points:g} / {t.max_points:g}</td>"
                f"<td>{ICON.get(t.status, '')} {_e(t.status)}</td><td>{_e(t.comment or t.message)}</td></tr>"
                for t in result.tests]
        parts.append('<table class="grader-scores"><thead><tr><th>cell</th><th>points</th><th>result</th>'
                     f"<th>message</th></tr></thead><tbody>{''.join(rows)}</tbody></table>")
        if result.flags:
            parts.append("<ul>" + "".join(f"<li>⚠️ {_e(flag)}</li>" for flag in result.flags) + "</ul>")
        cells = [html_cell("\n".join(parts))]
        for cell in nb.cells:
            cells.append(cell)
            test = by_test.get(grade_id(cell)) if kind_of(cell) else None
            if test:
                text = (f"<p><strong>{ICON.get(test.status, '')} {_e(test.test)}: {test.points:g} / "
                        f"{test.max_points:g}</strong> ({_e(test.status)})")
                if test.message:
                    text += f" — <code>{_e(test.message)}</code>"
                text += "</p>"
                if test.comment:
                    text += f"\n<blockquote><p><strong>Instructor:</strong> {_e(test.comment)}</p></blockquote>"
                cells.append(html_cell(text))
        nb.cells = cells
        return nb, resources
