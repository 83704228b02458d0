"""Grade: score each test cell from its execute reply."""

from nbconvert.preprocessors import Preprocessor

from ..exercise import grade_id, is_test, nbgrader
from ..results import TestResult
from ..state import state_of
from .execute_submission import TIMEOUT_ENAME


class ScoreTests(Preprocessor):
    """A test cell that ran without error earns its points; one that errored, timed out or never ran earns 0.

    Results go to the grading state's ``tests`` (:mod:`grader.state`) as :class:`~grader.results.TestResult`.
    Error tracebacks in test cells are cut to ``ename: evalue`` so hidden test code
    does not reach students through feedback.
    """

    def preprocess(self, nb, resources):
        grader = state_of(resources)
        replies, crash = grader.replies, grader.crash
        tests = []
        for index, cell in enumerate(nb.cells):
            if not is_test(cell):
                continue
            points = float(nbgrader(cell).get("points", 0))
            reply = replies.get(index)
            if reply is None:
                status, message = "not-run", crash or "the cell did not run"
            elif reply.status == "ok":
                status, message = "passed", ""
            else:
                status = "timeout" if reply.ename == TIMEOUT_ENAME else "failed"
                message = f"{reply.ename}: {reply.evalue}".strip(": ")
            tests.append(TestResult(grade_id(cell), points if status == "passed" else 0.0, points, status, message))
            for out in cell.get("outputs", []):
                if out.get("output_type") == "error":
                    out["traceback"] = [f"{out.get('ename')}: {out.get('evalue')}"]
        grader.tests = tests
        return nb, resources
