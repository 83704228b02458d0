"""Make visible what reaches into the grading machinery: an audit hook in the kernel, and a scan of the cells.

Student code runs in the same interpreter as the kernel that reports its test
results, so it *can* make a test pass without running it: replace the kernel's
``do_execute`` or ``shell_handlers``, install a trace function, walk frames to
objects it was not given, or change the grader's guard (``_grader_guard``).
None of this can be prevented from inside the kernel; this module makes it
visible, as flags for the instructor to review (never as zeros).

In the kernel (:data:`AUDIT_HOOK`, installed by the first of
:func:`grader.preprocessors.execute_submission.guard_requests`, before any
student code): a PEP 578 audit hook records the suspicious events CPython
raises (``sys.settrace``, ``sys.setprofile``, ``sys._getframe``, frame and code
attribute reads, ``object.__setattr__`` on the machinery, ``gc.get_referrers``,
``ctypes``, ``sys.addaudithook`` ...) and, because replacing an attribute of an
instance raises no event, compares the kernel, its session, its handler tables,
their classes and the guard module with a snapshot taken before any student
code ran (on every cell IPython executes, and whenever the grader asks).  Each
new record leaves the kernel at once, as one JSON line written to a FIFO that
the grader opened before the kernel started, so code that runs after it cannot
take it back.  Events from library code (IPython, ipykernel, ipyparallel,
numpy ...), from the guard and from the hook itself are not recorded.

On the grader's side, :class:`AuditLog` owns the FIFOs and reads the records;
a channel that closes, or a file descriptor of the hook that is replaced, while
the kernel runs is itself a record.  :func:`scan_cells` is a static scan of the
submitted cells for the same constructs.
"""

from __future__ import annotations

import ast
import binascii
import json
import marshal
import os
import secrets
import select
import stat
import sys
import time
from pathlib import Path

from .kernel_names import ARM_EVENT
from .scan import REVIEW

MAX_FIELD = 300  # characters of a record's text fields the grader keeps

# -- in the kernel --------------------------------------------------------------------------------------

# The hook's parts, in the order they run: names shared with the grader, then the hook's two halves.
HOOK_FILES = tuple(Path(__file__).with_name(name) for name in ("kernel_names.py", "audit_channel.py", "audit_hook.py"))


def hook_source(files=HOOK_FILES) -> str:
    """What the kernel runs: the text of ``files`` joined, each without its top-level imports of ``grader`` modules
    (they name what an earlier file defines, for linters and readers; joined, those names are already there)."""
    parts = []
    for path in files:
        text = path.read_text()
        lines = text.splitlines(keepends=True)
        for node in reversed(ast.parse(text, str(path)).body):
            if isinstance(node, ast.ImportFrom) and (node.module or "").split(".")[0] == "grader":
                del lines[node.lineno - 1:node.end_lineno]
            elif isinstance(node, ast.Import) and any(a.name.split(".")[0] == "grader" for a in node.names):
                raise RuntimeError(f"{path}:{node.lineno}: import grader modules with 'from ... import' only")
        parts.append("".join(lines))
    return "\n".join(parts)


AUDIT_HOOK = hook_source()


_compiled: str | None = None


def _marshalled() -> str:
    """The hook's code object, marshalled (base64): the kernel loads it in well under a millisecond where compiling
    the source takes about ten (a kernel on another Python compiles the source instead)."""
    global _compiled
    if _compiled is None:
        code = compile(AUDIT_HOOK, "<grader-audit>", "exec")
        _compiled = binascii.b2a_base64(marshal.dumps(code), newline=False).decode()
    return _compiled


def install_code(path: str | os.PathLike, token: str, trusted: list[str] | tuple = ()) -> str:
    """An expression for the kernel to evaluate before any student code (a ``user_expressions`` entry, which IPython
    evaluates without input or AST transformers): install :data:`AUDIT_HOOK` writing to the FIFO ``path``.

    The hook's functions live in a private namespace whose builtins are a copy, so student code can neither reach
    them by name nor change what they call; nothing is left in the notebook's namespace.  The expression's value
    is None whether or not the hook could open the channel: whether it did shows in :attr:`AuditLog.connected`.
    """
    args = (os.fspath(path), token, tuple(str(t) for t in trusted))
    return ("__import__('builtins').exec("
            f"__import__('marshal').loads(__import__('binascii').a2b_base64({_marshalled()!r})) "
            f"if __import__('sys').version == {sys.version!r} else "
            f"compile({AUDIT_HOOK!r}, '<grader-audit>', 'exec'), "
            f"{{'__builtins__': dict(vars(__import__('builtins'))), '__name__': '_grader_audit', '_ARGS': {args!r}}})")


# The last guard request: snapshot the kernel's state, now that the guard is installed and no student code has run.
ARM_CODE = f"__import__('sys').audit({ARM_EVENT!r}, get_ipython())\n"


def trusted_dirs() -> list[str]:
    """Folders of this project's own packages: their code is the grader's or the course's, not the student's."""
    here = Path(__file__).resolve().parents[1]
    return [str(here / name) for name in ("grader", "course", "procbox") if (here / name).is_dir()]


# -- on the grader's side ---------------------------------------------------------------------------------

class AuditLog:
    """The grader's end of the audit channel: a FIFO the kernel writes records to, and one it reads ticks from.

    Create it before the kernel starts (the read end must be open when the hook opens the write end); give
    its :attr:`path` and :attr:`token` to ``guard_requests``; call :meth:`seal` once the guard is installed
    and before any student code (it makes the FIFOs the grader's alone: mode 0600, so a kernel that runs as
    another user can no longer open them); :meth:`drain` after each cell; :meth:`sync` after the last one;
    :meth:`close` at the end.  ``mode`` is the FIFOs' mode until :meth:`seal` (0o622/0o644: the kernel's
    user may write records and read ticks, never read records); ``pid`` is the kernel's process id as the
    grader sees it, to check that the hook's file descriptors still are the channel (``/proc/PID/fd``).
    """

    def __init__(self, path: str | os.PathLike, *, pid: int | None = None, token: str | None = None,
                 mode: int = 0o622, tick_mode: int = 0o644):
        self.path = Path(path)
        self.tick_path = Path(f"{self.path}.tick")
        self.token = token or secrets.token_hex(16)
        self.pid = pid
        self._made = []
        for fifo, m in ((self.path, mode), (self.tick_path, tick_mode)):
            if not fifo.exists():
                os.mkfifo(fifo, 0o600)
                self._made.append(fifo)
            os.chmod(fifo, m)
        self._fd: int | None = os.open(self.path, os.O_RDONLY | os.O_NONBLOCK | os.O_CLOEXEC)
        st = os.fstat(self._fd)
        self._id = (st.st_dev, st.st_ino)
        self._waiting = select.poll()  # not select(): the grader may hold descriptors numbered 1024 and up
        self._waiting.register(self._fd, select.POLLIN)
        self._tick: int | None = None
        self._buf = b""
        self._pending: list[dict] = []
        self._synced = 0
        self._sync_n = 0
        self._reported: set[str] = set()
        self.connected = False  # the hook said hello
        self.has_tick = False
        self.hook_fds: list[int] = []
        self.eof = False
        self.sealed = False

    @property
    def broken(self) -> bool:
        """The channel was closed, or a descriptor of the hook replaced: what comes next is not seen."""
        return self.eof or "audit.fd" in self._reported

    # reading

    def _read(self) -> None:
        while self._fd is not None:
            try:
                chunk = os.read(self._fd, 65536)
            except BlockingIOError:
                return
            except OSError:
                return
            if not chunk:
                if self.connected and not self.eof:
                    self.eof = True
                    self._once("audit.closed", "closed the audit channel (what it did after that is not seen)")
                return
            self._buf += chunk
            if len(self._buf) > 1 << 20:  # a writer that is not the hook floods the channel
                self._buf = b""
                self._once("audit.forged", "wrote to the audit channel (records that are not the hook's)")
            self._parse()

    def _parse(self) -> None:
        *lines, self._buf = self._buf.split(b"\n")
        for raw in lines:
            if not raw:
                continue
            try:
                record = json.loads(raw)
                if not isinstance(record, dict) or record.get("t") != self.token:
                    raise ValueError("not the hook's")
            except ValueError:
                self._once("audit.forged", "wrote to the audit channel (records that are not the hook's)")
                continue
            event = str(record.get("event", ""))[:80]
            if event == "audit.hello":
                self.connected = True
                self.has_tick = record.get("tick") is True
                self.hook_fds = [fd for fd in record.get("fds", []) if isinstance(fd, int)]
                continue
            if event == "audit.sync":
                try:
                    self._synced = max(self._synced, int(record.get("n", 0)))
                except (TypeError, ValueError):
                    pass
                continue
            out = {"event": event, "what": str(record.get("what", ""))[:MAX_FIELD],
                   "where": str(record.get("where", ""))[:MAX_FIELD]}
            if isinstance(record.get("dropped"), int) and record["dropped"] > 0:
                self._pending.append({"event": "audit.dropped", "where": "",
                                      "what": f"raised events whose {record['dropped']} record(s) were lost "
                                              "(the audit channel was full)"})
            self._pending.append(out)

    def _once(self, event: str, what: str) -> None:
        if event not in self._reported:
            self._reported.add(event)
            self._pending.append({"event": event, "what": what, "where": ""})

    def _check_fds(self) -> None:
        """The hook's file descriptors must still be the channel: closed, or another file put in their place, is
        a record (a copy the code kept would otherwise hide the closing)."""
        if not (self.connected and self.pid and self.hook_fds) or self.eof:
            return
        for fd in self.hook_fds:
            try:
                st = os.stat(f"/proc/{self.pid}/fd/{fd}")
            except PermissionError:
                return
            except OSError:
                if not os.path.exists(f"/proc/{self.pid}"):
                    return  # the kernel has gone: not the code's doing
                st = None
            if st is None or (st.st_dev, st.st_ino) != self._id:
                self._once("audit.fd", "closed or replaced the audit channel's file descriptor")
                return

    def drain(self) -> list[dict]:
        """The records that arrived since the last call: dicts with ``event``, ``what`` (what the code did, as a
        phrase: "installed a trace function (sys.settrace)") and ``where`` (a line in the code, or "")."""
        self._read()
        self._check_fds()
        if self.connected and not self.sealed:
            self.seal()
        out, self._pending = self._pending, []
        return out

    def seal(self) -> None:
        """After the hook has connected: the FIFOs become the grader's alone, and the tick channel opens."""
        self._read()
        if self.sealed or not self.connected:
            return
        self.sealed = True
        for fifo in (self.path, self.tick_path):
            try:
                os.chmod(fifo, 0o600)
            except OSError:
                pass
        if self.has_tick:
            try:
                self._tick = os.open(self.tick_path, os.O_WRONLY | os.O_NONBLOCK | os.O_CLOEXEC)
            except OSError:
                self._tick = None

    def sync(self, timeout: float = 2.0) -> bool | None:
        """Ask the hook to check the kernel's state now and wait for its answer (so what a cell did that raised
        no event is seen before the kernel is stopped).  True: answered; False: no answer within ``timeout``
        (the hook's thread was stopped, or the kernel is stuck); None: no tick channel (nothing to ask)."""
        self.seal()
        if self._tick is None or self._fd is None:
            return None
        self._sync_n += 1
        n = self._sync_n
        try:
            os.write(self._tick, f"{n}\n".encode())
        except OSError:
            return False
        deadline = time.monotonic() + timeout
        while self._synced < n:
            left = deadline - time.monotonic()
            if left <= 0 or self.eof:
                return False
            self._waiting.poll(min(left, 0.05) * 1000)
            self._read()
        return True

    def close(self) -> None:
        for fd in (self._fd, self._tick):
            if fd is not None:
                try:
                    os.close(fd)
                except OSError:
                    pass
        self._fd = self._tick = None
        for fifo in self._made:
            try:
                if stat.S_ISFIFO(os.lstat(fifo).st_mode):
                    os.unlink(fifo)
            except OSError:
                pass
        self._made = []

    def __enter__(self) -> AuditLog:
        return self

    def __exit__(self, *exc) -> None:
        self.close()


def describe(record: dict, cell: str) -> str:
    """The flag for one record: ``cell 5 (q1): student code installed ... (line 3) — review: ...``."""
    where = f" ({record['where']})" if record.get("where") else ""
    return f"{cell}: student code {record.get('what') or record.get('event')}{where} — {REVIEW}"
