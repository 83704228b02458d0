"""The first part of the audit hook that runs inside the kernel: what it binds before student code runs, what it
watches, and the channel it writes records on (see :mod:`grader.audit_hook`, the second part, and
:mod:`grader.audit`, which installs both and reads what they write).

Not imported by the kernel: :func:`grader.audit.hook_source` joins the text of :mod:`grader.kernel_names`, this
file and :mod:`grader.audit_hook` (their imports of ``grader`` modules removed) into one program that runs in a
private namespace.  Only the standard library may be imported here.
"""

import _thread
import json.encoder
import os
import select
import sys
import threading
import time
import types

from grader.kernel_names import ARM_EVENT, GUARD_MODULE  # inlined by grader.audit.hook_source

# Everything the hook calls is bound now, before student code runs: patching os.write or json later changes nothing
# here, and the hook's globals are a private dict whose builtins are a copy.
_write, _read, _fstat, _open = os.write, os.read, os.fstat, os.open
_getframe = sys._getframe
_ident = _thread.get_ident
_now = time.monotonic
_poll = select.poll()  # not select(): it fails on descriptors numbered 1024 and up
_esc = json.encoder.encode_basestring_ascii
_oga = object.__getattribute__
_type_dict = type.__dict__["__dict__"].__get__  # a class's attributes, its __module__ and name, read without
_type_module = type.__dict__["__module__"].__get__  # running any code of the class or of its metaclass
_type_name = type.__dict__["__qualname__"].__get__
_modules = sys.modules
_threading = threading
_CodeType = types.CodeType
_FunctionType = types.FunctionType
_MISSING = object()

GUARD = GUARD_MODULE
GUARD_B = GUARD.encode()
ARM = ARM_EVENT
MAX_RECORDS = 100
CHECK_EVERY = 0.002  # seconds between checks of the kernel's state, unless IPython itself is executing code
LIB, STDLIB, THROUGH, STUDENT = 0, 1, 2, 3
# Standard modules that act on behalf of their caller (the caller decides: see _origin); other standard modules
# use frames for themselves only (logging's findCaller, namedtuple's __module__, typing, enum, warnings ...).
THROUGH_STDLIB = frozenset({
    "inspect", "threading", "asyncio", "concurrent", "pdb", "bdb", "types", "contextlib", "functools", "operator",
    "code", "codeop", "runpy", "trace", "cProfile", "profile", "timeit", "dis", "doctest", "pickle", "copy",
    "copyreg", "weakref", "_weakrefset", "sched", "queue", "ctypes", "gc"})
MACHINERY = frozenset({"ipykernel", "IPython", "jupyter_client", "zmq", "traitlets", "tornado", "ipyparallel", GUARD})
KERNEL = frozenset({"ipykernel", "jupyter_client", GUARD})  # whose code a student has no reason to read
ALWAYS = {  # recorded whoever raises them (but the hook and the guard)
    "sys.settrace": "installed a trace function (sys.settrace)",
    "sys.setprofile": "installed a profile function (sys.setprofile)",
    "sys._current_frames": "read every thread's frames (sys._current_frames)",
    "sys._current_exceptions": "read every thread's exceptions (sys._current_exceptions)",
    "sys.addaudithook": "added an audit hook (sys.addaudithook)",
    "gc.get_referrers": "searched the garbage collector for objects (gc.get_referrers)",
    "gc.get_objects": "listed every object the garbage collector tracks (gc.get_objects)",
    "sys.monitoring.register_callback": "installed a monitoring callback (sys.monitoring)",
    "sys.remote_exec": "ran code in another process (sys.remote_exec)",
}
CTYPES = frozenset({
    "ctypes.dlopen", "ctypes.dlsym", "ctypes.dlsym/handle", "ctypes.addressof", "ctypes.cdata", "ctypes.cdata/buffer",
    "ctypes.string_at", "ctypes.wstring_at", "ctypes.call_function", "ctypes.PyObj_FromPtr",
    "ctypes.create_string_buffer", "ctypes.create_unicode_buffer", "ctypes.seh_exception"})
FILTERED = frozenset({  # recorded when student code is behind them (see _origin and _describe)
    "sys._getframe", "sys._getframemodulename", "object.__getattr__", "object.__setattr__", "object.__delattr__",
    "gc.get_referents", "function.__new__", "code.__new__", "os.listdir", "os.scandir", "open"}) | CTYPES
WATCH = frozenset(ALWAYS) | FILTERED | {"exec", "compile", ARM}
FRAME_ATTRS = frozenset({"f_code", "f_back", "tb_frame", "gi_frame", "cr_frame", "ag_frame", "gi_code", "cr_code",
                         "ag_code"})
KERNEL_TRAITS = ("session", "shell", "shell_stream", "control_stream", "iopub_socket", "iopub_thread",
                 "stdin_socket", "shell_channel_thread", "control_thread")
SHELL_TRAITS = ("kernel", "compile", "input_transformer_manager", "displayhook", "display_pub")

_token = ""
_fds = []  # type: list[int]
_ino = None
_seen = set()
_records = 0
_dropped = 0
_fd_lost = 0


def _codes(code, into, depth=0):
    into.append(code)
    if depth < 6:
        for c in code.co_consts:
            if type(c) is _CodeType:
                _codes(c, into, depth + 1)


def _send(data):
    global _dropped, _fd_lost
    while _fds:
        fd = _fds[0]
        try:
            st = _fstat(fd)
            if st.st_ino != _ino[1] or st.st_dev != _ino[0]:
                raise OSError("not the audit channel")
            _write(fd, data)
        except BlockingIOError:  # the grader has not read for a while: drop, and say so in the next line
            _dropped += 1
            return
        except OSError:  # closed, or another file in its place: use the copy
            del _fds[0]
            _fd_lost += 1
            continue
        _dropped = 0
        return


def _line(event, what, where, extra=""):
    """One JSON line to the grader, written at once (a line is shorter than PIPE_BUF: never split)."""
    text = '{"t":' + _esc(_token) + ',"event":' + _esc(event[:80]) + ',"what":' + _esc(what[:300]) + \
        ',"where":' + _esc(where[:120])
    if _dropped:
        text += ',"dropped":' + str(_dropped)
    lost = _fd_lost
    _send((text + extra + "}\n").encode())
    if _fd_lost != lost and _fds:
        _send(('{"t":' + _esc(_token) + ',"event":"audit.fd","what":"closed or replaced the audit channel\'s '
               'file descriptor","where":""}\n').encode())


def _emit(event, what, where=""):
    """A record, once per (event, what), at most MAX_RECORDS of them."""
    global _records
    key = event + "\0" + what
    if key in _seen:
        return
    if _records >= MAX_RECORDS:
        if _records == MAX_RECORDS:
            _records += 1
            _line("audit.overflow", "raised more suspicious events than are recorded (%d)" % MAX_RECORDS, "")
        return
    _seen.add(key)
    _records += 1
    _line(event, what, where)
