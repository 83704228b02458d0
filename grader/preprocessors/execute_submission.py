"""Grade: execute a submission in a fresh kernel, recording every cell's reply; a crash ends the run, not the
grading."""

import ast
import json
import math
import secrets
import time
from pathlib import Path
from queue import Empty

from jupyter_core.utils import ensure_async, run_sync
from nbclient.exceptions import DeadKernelError
from nbconvert.preprocessors import ExecutePreprocessor
from traitlets import Any, Bool, Dict, Float, Instance, Integer, Unicode

from procbox import place_files

from ..audit import ARM_CODE, AuditLog, describe, install_code, trusted_dirs
from ..exercise import grade_id, is_locked, is_test
from ..protect import PARSE_LOCK, Protection
from ..state import Reply, state_of

TIMEOUT_ENAME = "CellTimeoutError"
MAX_ERROR_FIELD_CHARS = 4000  # of an error's name, and of its value: what the gradebook and feedback show
GUARD_SOURCE = (Path(__file__).resolve().parents[1] / "kernel_guard.py").read_text()
INSTALL_GUARD = (
    "import sys as _s, types as _t\n"
    "_g = _t.ModuleType('_grader_guard')\n"
    f"exec({GUARD_SOURCE!r}, _g.__dict__)\n"
    "_s.modules['_grader_guard'] = _g\n"
    "del _s, _t, _g\n"
)
GUARD = "__import__('sys').modules['_grader_guard']"


def guard_requests(audit_path: str = "", audit_token: str = "") -> list[tuple[str, dict]]:
    """(code, user_expressions) requests that install the guard in a kernel, before any student code.

    With ``audit_path`` (the FIFO of an :class:`grader.audit.AuditLog`, opened by the grader before the kernel
    started, and its ``token``), the first request installs the audit hook writing to it, and the last one
    snapshots the kernel's state for it, once the guard is in place.
    """
    requests = [(INSTALL_GUARD, {}), ("", {"v": f"{GUARD}.install(get_ipython())"})]
    if audit_path:
        requests = [("", {"v": install_code(audit_path, audit_token, trusted_dirs())}), *requests, (ARM_CODE, {})]
    return requests


class KernelUnresponsive(RuntimeError):
    pass


class KernelNotReady(RuntimeError):
    """The kernel failed before any of the notebook's cells started: the kernel's fault, not the notebook's."""


class _LimitReached(Exception):
    """A limit of the submission was hit (``stop_when`` said so): the cells after this one do not run."""


class ExecuteSubmission(ExecutePreprocessor):
    """Run every cell whatever fails before it; record each reply in the grading state (:mod:`grader.state`).

    Errors are recorded, not raised; a cell that runs too long is interrupted and
    recorded as a timeout, and if the kernel then does not answer it is stopped;
    a kernel that dies leaves the cells after it unexecuted and the reason in
    the state's ``crash``.  Scores come from the kernel's execute
    replies, never from what a cell printed.  With ``guard``, what student code
    did to IPython, to the modules tests use or to the names they read from the
    instructor's cells (the state's ``protection``: :mod:`grader.protect`) is
    undone before each test cell (see :mod:`grader.kernel_guard`), and a test only
    counts if its code ran to its last line and student code it called changed
    none of those while it ran.
    """

    kernel_env = Dict(help="The kernel's whole environment (None: inherit the grader's).", allow_none=True,
                      default_value=None)
    max_output_chars = Integer(100_000, help="Output kept per cell; the rest is dropped.").tag(config=True)
    probe_timeout = Integer(10, help="Seconds a kernel has to answer after a timed-out cell.").tag(config=True)
    guard = Bool(False, help="Protect test cells from student tampering (grading only).").tag(config=True)
    guard_installed = Bool(False, help="The kernel was given the guard already (see guard_requests).")
    max_error_field_chars = Integer(MAX_ERROR_FIELD_CHARS, help="Characters kept of an error's name and of its "
                                    "value, each (in outputs and in the recorded replies).").tag(config=True)
    _error_chars: "Dict[tuple, int]" = Dict(help="Characters of error output kept so far, per (notebook, cell).")
    audit = Instance(AuditLog, allow_none=True, help="The grader's end of the kernel's audit channel, made by the "
                     "caller before the kernel started (it installs the hook with guard_requests and closes it); "
                     "drained after every cell, each record a flag.")
    audit_path = Unicode("", help="Without ``audit``: where to make the audit FIFO (\"\": no audit); the kernel "
                         "this preprocessor starts gets the hook with the guard.").tag(config=True)
    kernel = Any(None, allow_none=True, help="A started kernel manager to execute in (a slot's prepared kernel); "
                 "None: start a new kernel")
    stop_when = Any(None, allow_none=True, help="Called after every cell: a message (a limit of the submission "
                    "was hit; the cells after it do not run) or None")
    audit_timeout = Float(2.0, help="Seconds the audit hook has to answer the last check.").tag(config=True)
    cell_timeout = Float(0.0, help="Seconds one cell may run, to the fraction; nbclient's ``timeout``, which takes "
                         "whole seconds, is then set to it rounded up (0: ``timeout``).").tag(config=True)
    budget = Float(0.0, help="Seconds all the cells may take together (0: no budget).  A cell gets what is left "
                   "of it, at most ``timeout``; once it is spent, the cells after the one running do not run "
                   "and the state's ``limits`` says why.").tag(config=True)
    max_total_output_chars = Integer(20_000_000, help="Output kept of the whole notebook (each cell keeps at most "
                                     "max_output_chars); the rest is dropped.").tag(config=True)
    files_from = Unicode("", help="A folder whose files the kernel copies into its working directory before the "
                         "first cell (an nbgrader assignment's files, staged by the grader: "
                         "grader.assignment_files); \"\": none.")

    _total_chars = 0  # output kept of the whole notebook so far (preprocess starts it afresh)
    _placed = False  # the files of ``files_from`` were put in place (preprocess starts it afresh)
    _deadline = None  # when the budget runs out (time.monotonic()), or None

    def __init__(self, **kw):
        kw.setdefault("allow_errors", True)
        kw.setdefault("interrupt_on_timeout", True)
        kw.setdefault("kernel_name", "python3")
        super().__init__(**kw)
        if self.cell_timeout > 0:  # what nbclient waits for a reply outside a cell (the guard's requests)
            self.timeout = max(1, math.ceil(self.cell_timeout))
        self.on_cell_executed = self._record

    def preprocess(self, nb, resources=None, km=None):
        """Execute ``nb`` in ``km`` (default: the ``kernel`` trait; None starts a new kernel)."""
        grader = state_of(resources)
        grader.replies = {}
        km = km if km is not None else self.kernel
        self._index, self._installed, self._total_chars, self._placed = None, self.guard_installed, 0, False
        self._relied = False
        self.error_on_timeout = {"ename": TIMEOUT_ENAME, "evalue": f"the cell ran longer than {self._per_cell:g} s",
                                 "traceback": []}
        self._deadline = time.monotonic() + self.budget if self.budget > 0 else None
        if self._deadline is not None or self.cell_timeout > 0:
            self.timeout_func = self._cell_timeout
        self._audit_log = self.audit
        if self.guard and self.audit is None and self.audit_path:  # before the kernel starts
            self._audit_log = AuditLog(self.audit_path)
        try:
            return super().preprocess(nb, resources, km)
        except _LimitReached:
            pass
        except Exception as e:
            if self._index is None and km is not None:  # a prepared kernel that failed before any cell
                raise KernelNotReady(f"{type(e).__name__}: {e}") from e
            if isinstance(e, DeadKernelError):
                grader.crash = f"the kernel died while running cell {self._index} ({e})"
            elif isinstance(e, KernelUnresponsive):
                grader.crash = str(e)
            else:
                grader.crash = f"grading stopped at cell {self._index}: {type(e).__name__}: {e}"
        finally:
            self._audit_drain(self._index, grader)
            if self._audit_log is not None and self._audit_log is not self.audit:
                self._audit_log.close()
            if km is not None and self.kc is not None:  # our client of a kernel we were lent: ours to close
                self.kc.stop_channels()
        return nb, resources

    def start_new_kernel(self, **kwargs):
        if self.kernel_env is not None:
            kwargs["env"] = dict(self.kernel_env)
        return super().start_new_kernel(**kwargs)

    def preprocess_cell(self, cell, resources, index):
        if self.files_from and not self._placed:  # before any cell: a kernel failing here is not the notebook's
            self._placed = True
            self._place_files(state_of(resources))
        self._index, self._chars = index, 0
        if self.guard and not self._installed:
            audit = self._audit_log
            for code, expressions in guard_requests(*((str(audit.path), audit.token) if audit else ())):
                self._ask(code, expressions.get("v"))
            self._installed = True
            if audit is not None:
                audit.seal()
                if not audit.connected:
                    self.log.warning("the audit hook did not connect to %s", audit.path)
        state, plan = state_of(resources), self._protection(resources)
        if self.guard and not self._relied:  # before the first cell: what the source's locked cells import
            self._relied = True
            self._ask(expression=f"{GUARD}.rely({json.dumps(plan.modules)!r})")
        if not (self.guard and is_test(cell)):
            cell, resources = super().preprocess_cell(cell, resources, index)
            held = plan.binds.get(grade_id(cell)) if self.guard and is_locked(cell) else None
            if held and state.replies.get(index, Reply("ok")).ename != TIMEOUT_ENAME:  # the instructor's objects
                self._ask(expression=f"{GUARD}.hold({held!r})")
        else:
            cell, resources = self._run_test(cell, resources, index)
        if state.replies.get(index, Reply("ok")).ename == TIMEOUT_ENAME:
            self._probe()
        if self._audit_log is not None:
            last = index == len(self.nb.cells) - 1
            self._audit_drain(index, state, sync=last)
        if self.stop_when is not None and (reached := self.stop_when()):
            state.limits = reached
            raise _LimitReached(reached)
        if self._deadline is not None and time.monotonic() >= self._deadline and index < len(self.nb.cells) - 1:
            state.limits = (f"the submission used up its time budget of {self.budget:g} s (all cells together) "
                            f"in cell {index}; the cells after it did not run")
            raise _LimitReached(state.limits)
        return cell, resources

    def _place_files(self, state) -> None:
        """Have the kernel copy ``files_from`` into its working directory (:func:`procbox.place_files.place`)."""
        answer = self._ask(expression=place_files.expression(self.files_from))
        placed = json.loads(answer) if isinstance(answer, str) else {"error": "the kernel did not run the copy"}
        if placed.get("error"):
            state.flag(f"the assignment's files were not all put beside the notebook ({placed['error']}); tests "
                       "that read them may fail")

    @property
    def _per_cell(self) -> float:
        per_cell = self.cell_timeout or self.timeout
        if per_cell is None:  # nbclient's default timeout: this preprocessor always needs a time per cell
            raise TypeError("ExecuteSubmission needs a time per cell: timeout or cell_timeout")
        return per_cell

    def _cell_timeout(self, cell) -> float:
        """nbclient's ``timeout_func``: the time of one cell, or what is left of the budget if that is less."""
        per_cell = self._per_cell
        left = self._deadline - time.monotonic() if self._deadline is not None else per_cell
        if left >= per_cell:
            self.error_on_timeout = {"ename": TIMEOUT_ENAME, "evalue": f"the cell ran longer than {per_cell:g} s",
                                     "traceback": []}
            return per_cell
        self.error_on_timeout = {"ename": TIMEOUT_ENAME, "traceback": [],
                                 "evalue": f"the submission's time budget of {self.budget:g} s ran out in this cell"}
        return max(left, 0.01)

    def _audit_drain(self, index, grader, sync=False):
        """The audit records that arrived during cell ``index``, as flags (after the last cell, first a check
        of the kernel's state, answered: see :meth:`grader.audit.AuditLog.sync`)."""
        audit = getattr(self, "_audit_log", None)
        if audit is None:
            return
        if audit.pid is None:
            audit.pid = getattr(getattr(self.km, "provisioner", None), "pid", None)
        records = audit.drain()
        if sync and audit.connected and not audit.broken and audit.sync(self.audit_timeout) is False and \
                not audit.broken and self._kernel_alive():
            records.append({"event": "audit.silent", "where": "",
                            "what": "stopped the audit hook's checks (it did not answer the last one)"})
        records += audit.drain()
        alive = None
        for record in records:
            if record["event"] in ("audit.closed", "audit.fd"):
                alive = self._kernel_alive() if alive is None else alive
                if not alive:  # a kernel that died closes its end: that is the crash, reported as such
                    continue
            gid = grade_id(self.nb.cells[index]) if index is not None and index < len(self.nb.cells) else None
            cell = f"cell {index} ({gid})" if gid else f"cell {index}" if index is not None else "before any cell"
            grader.flag(describe(record, cell))

    def _kernel_alive(self) -> bool:
        km = getattr(self, "km", None)
        try:
            return km is not None and bool(run_sync(ensure_async)(km.is_alive()))
        except Exception:  # a kernel manager that cannot tell: treat the kernel as gone
            return False

    @staticmethod
    def _protection(resources) -> Protection:
        """What the guard keeps for this notebook (RestoreTests works it out from the source; none without it)."""
        return state_of(resources).protection or Protection()

    def _run_test(self, cell, resources, index):
        plan, gid = self._protection(resources), grade_id(cell)
        repaired = self._ask(expression=f"{GUARD}.restore({plan.reads.get(gid, [])!r})")
        state = state_of(resources)
        for what in json.loads(repaired or "[]"):
            state.flag(f"student code changed {what}; restored before the tests")
        nonce = secrets.token_hex(16)
        source = cell.source
        cell.source = f"{source}\n{GUARD}.ran({nonce!r})"
        try:
            cell, resources = super().preprocess_cell(cell, resources, index)
        finally:
            cell.source = source
        reply = state.replies.get(index)
        if reply is None or reply.ename == TIMEOUT_ENAME:  # the probe comes next; no question now
            return cell, resources
        checked = json.loads(self._ask(expression=f"{GUARD}.check({plan.keeps.get(gid, [])!r}, "
                                                  f"{plan.binds.get(gid, [])!r})") or "null")
        ran, names, modules = checked if isinstance(checked, list) and len(checked) == 3 else (None, [], [])
        changed = [f"the name {n!r}" for n in names] + [str(m) for m in modules]
        if reply.status == "ok" and ran != nonce:
            state.replies[index] = Reply("error", "TestNotRun", "the test's code did not run as written "
                                         "(something in the notebook changed it before it ran)")
            state.flag(f"test cell {index}: the test code did not run as written")
        elif changed:
            what = ", ".join(changed[:5]) + (f" and {len(changed) - 5} more" if len(changed) > 5 else "")
            if reply.status == "ok":
                state.replies[index] = Reply("error", "TestTampered", f"student code the test called changed {what}, "
                                             "which the test relies on, while it ran: the test does not count")
            state.flag(f"test cell {index}: student code the test called changed {what} while the test ran; "
                       "the test scores 0")
        return cell, resources

    def _ask(self, code="", expression=None, timeout: float | None = None):
        """Run code silently; return the value of ``expression`` (a Python literal), or None.  KernelUnresponsive if
        no reply comes within ``timeout`` seconds (default: nbclient's ``timeout``, what it waits outside a cell)."""
        kc = self.kc
        if kc is None:
            raise KernelUnresponsive(f"there was no kernel to ask at cell {self._index}")
        msg_id = kc.execute(code, silent=True, store_history=False, allow_stdin=False,
                            user_expressions={"v": expression} if expression else {})
        reply = self._reply(kc, msg_id, timeout if timeout is not None else self.timeout or math.inf)
        if reply is None:
            raise KernelUnresponsive(f"the kernel stopped responding at cell {self._index}; it was stopped "
                                     "and the cells after it did not run")
        value = reply["content"].get("user_expressions", {}).get("v", {})
        if value.get("status") != "ok":
            return None
        with PARSE_LOCK:  # (literal_eval parses: one thread at a time, see grader.protect)
            return ast.literal_eval(value["data"]["text/plain"])

    def _reply(self, kc, msg_id: str, timeout: float) -> dict | None:
        """The kernel's shell reply to ``msg_id``, or None if none came within ``timeout`` seconds (DeadKernelError if
        the kernel died).  nbclient's ``wait_for_reply`` waits by its ``timeout`` trait and then interrupts the kernel;
        the grader's own requests wait by their own time, and a kernel that does not answer them is stopped."""
        deadline = time.monotonic() + timeout
        while (left := deadline - time.monotonic()) > 0:
            try:
                msg = run_sync(ensure_async)(kc.shell_channel.get_msg(timeout=min(left, self.shell_timeout_interval)))
            except Empty:
                if not self._kernel_alive():
                    raise DeadKernelError("the kernel died") from None
                continue
            if msg["parent_header"].get("msg_id") == msg_id:
                return msg
        return None

    def _probe(self):
        """After a timeout: a kernel that ignores the interrupt is stopped, not waited for cell after cell."""
        try:
            self._ask(timeout=self.probe_timeout)
        except KernelUnresponsive:
            raise KernelUnresponsive(f"the kernel stopped responding after cell {self._index} timed out; "
                                     "it was stopped and the cells after it did not run") from None

    def _record(self, cell, cell_index, execute_reply):
        content = execute_reply.get("content", {})
        state_of(self.resources).replies[cell_index] = Reply(
            content.get("status", "error"),
            cut(content.get("ename"), self.max_error_field_chars),
            cut(content.get("evalue"), self.max_error_field_chars),
        )

    def output(self, outs, msg, display_id, cell_index):
        """Keep at most ``max_output_chars`` of a cell's output (nbgrader's LimitOutput, applied as it arrives),
        and at most as much again of its errors (:meth:`_capped_error`); what was cut says so."""
        kind = msg.get("msg_type")
        content = msg.get("content") if isinstance(msg.get("content"), dict) else {}
        if kind == "error":
            capped = self._capped_error(content, cell_index, outs)
            if capped is None:
                return None
            msg = {**msg, "content": capped}
        elif kind in ("stream", "display_data", "execute_result"):
            size = len(json.dumps(content, default=str))  # all of it: text, data, metadata, a stream's name
            self._chars += size
            if self._chars > self.max_output_chars:
                if self._chars - size <= self.max_output_chars:
                    note = {"name": "stderr", "text": f"\n... [output cut at {self.max_output_chars} characters]\n"}
                    outs.append(self._stream(note))
                return None
            self._total_chars += size  # what is kept: output a cell's cap dropped leaves the other cells theirs
            if self._total_chars > self.max_total_output_chars:
                if self._total_chars - size <= self.max_total_output_chars:
                    note = {"name": "stderr",
                            "text": f"\n... [the notebook's output cut at {self.max_total_output_chars} characters]\n"}
                    outs.append(self._stream(note))
                return None
        try:
            return super().output(outs, msg, display_id, cell_index)
        except (KeyError, TypeError, ValueError) as e:  # not what a kernel sends: forged by the cell's code
            self.log.warning("dropped a malformed %s message from cell %s: %s", kind, cell_index, e)
            return None

    def _capped_error(self, content: dict, cell_index: int, outs) -> dict | None:
        """An error's content cut to fit: its name and value to ``max_error_field_chars`` each, its traceback to
        what is left of the cell's ``max_output_chars`` for errors, a line saying so where it was cut.  None (and
        a note, once) when the cell's errors have used all of it: a cell that shows tracebacks in a loop."""
        key = (id(self.nb), cell_index)
        used = self._error_chars.get(key, 0)
        left = self.max_output_chars - used
        if left <= 0:
            if not self._error_chars.get((*key, "noted")):
                self._error_chars[(*key, "noted")] = 1
                note = {"name": "stderr", "text": f"\n... [errors cut at {self.max_output_chars} characters]\n"}
                outs.append(self._stream(note))
            return None
        ename = cut(content.get("ename"), min(self.max_error_field_chars, left)) or ""
        evalue = cut(content.get("evalue"), min(self.max_error_field_chars, left)) or ""
        room = left - len(ename) - len(evalue)
        lines = content.get("traceback") or []
        traceback = []
        for line in lines if isinstance(lines, list) else [lines]:
            line = line if isinstance(line, str) else str(line)
            if len(line) > room:
                if room > 0:
                    traceback.append(line[:room])
                traceback.append(f"... [traceback cut at {self.max_output_chars} characters]")
                break
            traceback.append(line)
            room -= len(line)
        self._error_chars[key] = max(used + len(ename) + len(evalue) + sum(map(len, traceback)), used + 1)
        return {**content, "ename": ename, "evalue": evalue, "traceback": traceback}

    @staticmethod
    def _stream(content):
        from nbformat.v4 import new_output

        return new_output("stream", name=content["name"], text=content["text"])


def cut(value, limit: int):
    """``value`` as text of at most ``limit`` characters and a note saying how long it was (None stays None)."""
    if value is None:
        return None
    text = value if isinstance(value, str) else str(value)
    if len(text) <= limit:
        return text
    return f"{text[:limit]}... [cut: {len(text)} characters in all]"
