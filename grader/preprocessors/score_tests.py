"""Grade: score each graded cell; tests from their execute reply, answers graded by hand left pending."""

from nbconvert.preprocessors import Preprocessor
from traitlets import Any, Bool

from ..exercise import grade_id, graded_id, kind_of, nbgrader, plain_text, points
from ..results import PENDING, TestResult
from ..state import state_of
from .execute_submission import TIMEOUT_ENAME

NO_RESPONSE = "No response."


def partial_credit(cell, max_points: float) -> tuple[float, str] | None:
    """nbgrader's partial credit: a test cell whose result (its last expression) is one number earns that many
    points, kept within 0 and the cell's points; None when the cell shows no such number."""
    for out in cell.get("outputs", []):
        if out.get("output_type") != "execute_result":
            continue
        text = out.get("data", {}).get("text/plain", "")
        text = text[0] if isinstance(text, list) and len(text) == 1 else text
        try:
            value = float(text)
        except (TypeError, ValueError):
            return None
        if value != value:  # nan
            return 0.0, "the test's result was nan: no points"
        kept = min(max(value, 0.0), max_points)
        return kept, "" if kept == value else f"the test's result {value:g} was kept within 0 and {max_points:g}"
    return None


class ScoreTests(Preprocessor):
    """A test cell that ran without error earns its points; one that errored, timed out or never ran earns 0.

    A test whose result is a number earns that many points (nbgrader's partial credit).  With ``stderr_fails``
    (as nbgrader scores), anything the test wrote to stderr makes it fail too.  Answers graded by hand (solution
    cells worth points) and tasks are recorded with their text as ``needs-grading``; an answer left as it was
    released earns 0 at once ("No response."), as nbgrader has it.

    Results go to the grading state's ``tests`` (:mod:`grader.state`) as :class:`~grader.results.TestResult`.
    Error tracebacks in test cells are cut to ``ename: evalue`` so hidden test code
    does not reach students through feedback.
    """

    released = Any(None, allow_none=True, help="The student version, to tell an answer left untouched.")
    stderr_fails = Bool(False, help="A test that writes to stderr fails (nbgrader's rule).").tag(config=True)

    def preprocess(self, nb, resources):
        grader = state_of(resources)
        given = {grade_id(c): c for c in self.released.cells if grade_id(c)} if self.released is not None else {}
        tests = []
        for index, cell in enumerate(nb.cells):
            kind = kind_of(cell)
            if kind is None:
                continue
            if kind == "auto":
                tests.append(self._test(cell, grader.replies.get(index), grader.crash))
            else:
                tests.append(self._by_hand(nb, index, kind, given.get(grade_id(cell))))
        grader.tests = tests
        return nb, resources

    def _test(self, cell, reply, crash) -> TestResult:
        most = points(cell)
        earned, message = most, ""
        if reply is None:
            status, earned, message = "not-run", 0.0, crash or "the cell did not run"
        elif reply.status != "ok":
            status, earned = ("timeout" if reply.ename == TIMEOUT_ENAME else "failed"), 0.0
            message = f"{reply.ename}: {reply.evalue}".strip(": ")
        elif self.stderr_fails and any(o.get("output_type") == "stream" and o.get("name") == "stderr"
                                       for o in cell.get("outputs", [])):
            status, earned, message = "failed", 0.0, "the test wrote to stderr, which fails it (nbgrader's rule)"
        else:
            status = "passed"
            partial = partial_credit(cell, most)
            if partial is not None:
                earned, message = partial
                status = "passed" if earned == most else "partial" if earned > 0 else "failed"
        for out in cell.get("outputs", []):
            if out.get("output_type") == "error":
                out["traceback"] = [f"{out.get('ename')}: {out.get('evalue')}"]
        return TestResult(graded_id(cell), earned, most, status, message,
                          hidden="### BEGIN HIDDEN TESTS" in cell.source)

    @staticmethod
    def _by_hand(nb, index, kind, released_cell) -> TestResult:
        cell = nb.cells[index]
        gid, most = graded_id(cell), points(cell)
        if kind == "task":  # the answer is what the student wrote after the task, up to the next exercise cell
            parts = []
            for later in nb.cells[index + 1:]:
                if nbgrader(later):
                    break
                if later.source.strip():
                    parts.append(later.source)
            return TestResult(gid, 0.0, most, PENDING, "", kind, "\n\n".join(parts))
        if released_cell is not None and plain_text(cell.source) == plain_text(released_cell.source):
            return TestResult(gid, 0.0, most, "no-answer", NO_RESPONSE, kind, cell.source)
        return TestResult(gid, 0.0, most, PENDING, "", kind, cell.source)
