"""Grade: execute a submission in a fresh kernel, recording every cell's reply; a crash ends the run, not the grading."""

from nbclient.exceptions import DeadKernelError
from nbconvert.preprocessors import ExecutePreprocessor
from traitlets import Dict, Integer

TIMEOUT_ENAME = "CellTimeoutError"


class ExecuteSubmission(ExecutePreprocessor):
    """Run every cell whatever fails before it; record each reply in ``resources["grader"]["replies"]``.

    Errors are recorded, not raised; a cell that runs too long is interrupted and
    recorded as a timeout; a kernel that dies leaves the cells after it unexecuted
    and the reason in ``resources["grader"]["crash"]``.  Scores come from the
    kernel's execute replies, never from what a cell printed.
    """

    kernel_env = Dict(help="The kernel's whole environment (None: inherit the grader's).", allow_none=True,
                      default_value=None)
    max_output_chars = Integer(100_000, help="Stream output kept per cell; the rest is cut.").tag(config=True)

    def __init__(self, **kw):
        kw.setdefault("allow_errors", True)
        kw.setdefault("interrupt_on_timeout", True)
        kw.setdefault("kernel_name", "python3")
        super().__init__(**kw)
        self.on_cell_executed = self._record

    def preprocess(self, nb, resources=None, km=None):
        grader = resources.setdefault("grader", {})
        grader["replies"] = {}
        self._current_index = None
        timeout = self.timeout
        self.error_on_timeout = {"ename": TIMEOUT_ENAME, "evalue": f"the cell ran longer than {timeout} s",
                                 "traceback": []}
        try:
            return super().preprocess(nb, resources, km)
        except DeadKernelError as e:
            grader["crash"] = f"the kernel died while running cell {self._current_index}: {e}"
            return nb, resources

    def start_new_kernel(self, **kwargs):
        if self.kernel_env is not None:
            kwargs["env"] = dict(self.kernel_env)
        return super().start_new_kernel(**kwargs)

    def preprocess_cell(self, cell, resources, index):
        self._current_index = index
        cell, resources = super().preprocess_cell(cell, resources, index)
        self._cap_output(cell)
        return cell, resources

    def _record(self, cell, cell_index, execute_reply):
        content = execute_reply.get("content", {})
        self.resources["grader"]["replies"][cell_index] = {
            "status": content.get("status", "error"),
            "ename": content.get("ename"),
            "evalue": content.get("evalue"),
        }

    def _cap_output(self, cell):
        budget = self.max_output_chars
        for out in cell.get("outputs", []):
            if out.get("output_type") == "stream":
                text = out.get("text", "")
                if len(text) > budget:
                    out["text"] = text[:max(budget, 0)] + f"\n... [output cut at {self.max_output_chars} characters]\n"
                budget -= min(len(text), max(budget, 0))
