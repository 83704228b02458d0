"""Grade: execute a submission in a fresh kernel, recording every cell's reply; a crash ends the run, not the grading."""

import ast
import json
import secrets
from pathlib import Path

from nbclient.exceptions import DeadKernelError
from nbconvert.preprocessors import ExecutePreprocessor
from traitlets import Bool, Dict, Integer

from ..exercise import is_test

TIMEOUT_ENAME = "CellTimeoutError"
GUARD_SOURCE = (Path(__file__).resolve().parents[1] / "kernel_guard.py").read_text()
INSTALL_GUARD = (
    "import sys as _s, types as _t\n"
    "_g = _t.ModuleType('_grader_guard')\n"
    f"exec({GUARD_SOURCE!r}, _g.__dict__)\n"
    "_s.modules['_grader_guard'] = _g\n"
    "del _s, _t, _g\n"
)
GUARD = "__import__('sys').modules['_grader_guard']"


def guard_requests() -> list[tuple[str, dict]]:
    """(code, user_expressions) requests that install the guard in a kernel, before any student code."""
    return [(INSTALL_GUARD, {}), ("", {"v": f"{GUARD}.install(get_ipython())"})]


class KernelUnresponsive(RuntimeError):
    pass


class ExecuteSubmission(ExecutePreprocessor):
    """Run every cell whatever fails before it; record each reply in ``resources["grader"]["replies"]``.

    Errors are recorded, not raised; a cell that runs too long is interrupted and
    recorded as a timeout, and if the kernel then does not answer it is stopped;
    a kernel that dies leaves the cells after it unexecuted and the reason in
    ``resources["grader"]["crash"]``.  Scores come from the kernel's execute
    replies, never from what a cell printed.  With ``guard``, what student code
    did to IPython or to the modules tests use is undone before each test cell
    (see :mod:`grader.kernel_guard`), and a test only counts if its code ran to
    its last line.
    """

    kernel_env = Dict(help="The kernel's whole environment (None: inherit the grader's).", allow_none=True,
                      default_value=None)
    max_output_chars = Integer(100_000, help="Output kept per cell; the rest is dropped.").tag(config=True)
    probe_timeout = Integer(10, help="Seconds a kernel has to answer after a timed-out cell.").tag(config=True)
    guard = Bool(False, help="Protect test cells from student tampering (grading only).").tag(config=True)
    guard_installed = Bool(False, help="The kernel was given the guard already (see guard_requests).")

    def __init__(self, **kw):
        kw.setdefault("allow_errors", True)
        kw.setdefault("interrupt_on_timeout", True)
        kw.setdefault("kernel_name", "python3")
        super().__init__(**kw)
        self.on_cell_executed = self._record

    def preprocess(self, nb, resources=None, km=None):
        grader = resources.setdefault("grader", {})
        grader["replies"] = {}
        grader.setdefault("flags", [])
        self._index, self._installed = None, self.guard_installed
        self.error_on_timeout = {"ename": TIMEOUT_ENAME, "evalue": f"the cell ran longer than {self.timeout} s",
                                 "traceback": []}
        try:
            return super().preprocess(nb, resources, km)
        except DeadKernelError as e:
            grader["crash"] = f"the kernel died while running cell {self._index} ({e})"
        except KernelUnresponsive as e:
            grader["crash"] = str(e)
        return nb, resources

    def start_new_kernel(self, **kwargs):
        if self.kernel_env is not None:
            kwargs["env"] = dict(self.kernel_env)
        return super().start_new_kernel(**kwargs)

    def preprocess_cell(self, cell, resources, index):
        self._index, self._chars = index, 0
        if self.guard and not self._installed:
            for code, expressions in guard_requests():
                self._ask(code, expressions.get("v"))
            self._installed = True
        if not (self.guard and is_test(cell)):
            cell, resources = super().preprocess_cell(cell, resources, index)
        else:
            cell, resources = self._run_test(cell, resources, index)
        if resources["grader"]["replies"].get(index, {}).get("ename") == TIMEOUT_ENAME:
            self._probe()
        return cell, resources

    def _run_test(self, cell, resources, index):
        repaired = self._ask(expression=f"{GUARD}.restore()")
        for what in json.loads(repaired or "[]"):
            resources["grader"]["flags"].append(f"student code changed {what}; restored before the tests")
        nonce = secrets.token_hex(16)
        source = cell.source
        cell.source = f"{source}\n{GUARD}.ran({nonce!r})"
        try:
            cell, resources = super().preprocess_cell(cell, resources, index)
        finally:
            cell.source = source
        reply = resources["grader"]["replies"].get(index)
        if reply is None or reply["ename"] == TIMEOUT_ENAME:  # the probe comes next; no question now
            return cell, resources
        ran = json.loads(self._ask(expression=f"{GUARD}.check()") or "null")
        if reply["status"] == "ok" and ran != nonce:
            reply.update(status="error", ename="TestNotRun", evalue="the test's code did not run as written "
                         "(something in the notebook changed it before it ran)")
            resources["grader"]["flags"].append(f"test cell {index}: the test code did not run as written")
        return cell, resources

    def _ask(self, code="", expression=None):
        """Run code silently; return the value of ``expression`` (a Python literal), or None."""
        msg_id = self.kc.execute(code, silent=True, store_history=False, allow_stdin=False,
                                 user_expressions={"v": expression} if expression else {})
        reply = self.wait_for_reply(msg_id)
        if reply is None:
            raise KernelUnresponsive(f"the kernel stopped responding at cell {self._index}; it was stopped "
                                     "and the cells after it did not run")
        value = reply["content"].get("user_expressions", {}).get("v", {})
        if value.get("status") != "ok":
            return None
        return ast.literal_eval(value["data"]["text/plain"])

    def _probe(self):
        """After a timeout: a kernel that ignores the interrupt is stopped, not waited for cell after cell."""
        timeout, self.timeout = self.timeout, self.probe_timeout
        try:
            self._ask()
        except KernelUnresponsive:
            raise KernelUnresponsive(f"the kernel stopped responding after cell {self._index} timed out; "
                                     "it was stopped and the cells after it did not run") from None
        finally:
            self.timeout = timeout

    def _record(self, cell, cell_index, execute_reply):
        content = execute_reply.get("content", {})
        self.resources["grader"]["replies"][cell_index] = {
            "status": content.get("status", "error"),
            "ename": content.get("ename"),
            "evalue": content.get("evalue"),
        }

    def output(self, outs, msg, display_id, cell_index):
        """Keep at most ``max_output_chars`` of a cell's output (nbgrader's LimitOutput, applied as it arrives)."""
        if msg["msg_type"] in ("stream", "display_data", "execute_result", "error"):
            size = len(json.dumps(msg["content"].get("text") or msg["content"].get("data") or ""))
            self._chars += size
            if self._chars > self.max_output_chars and msg["msg_type"] != "error":
                if self._chars - size <= self.max_output_chars:
                    note = {"name": "stderr", "text": f"\n... [output cut at {self.max_output_chars} characters]\n"}
                    outs.append(self._stream(note))
                return None
        return super().output(outs, msg, display_id, cell_index)

    @staticmethod
    def _stream(content):
        from nbformat.v4 import new_output

        return new_output("stream", name=content["name"], text=content["text"])
