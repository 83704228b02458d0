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
import re
import secrets
import select
import stat
import sys
import time
from pathlib import Path

GUARD_MODULE = "_grader_guard"
ARM_EVENT = "_grader_audit.arm"
REVIEW = "review: this can make a test pass without running it"
MAX_FIELD = 300  # characters of a record's text fields the grader keeps

# -- in the kernel --------------------------------------------------------------------------------------

AUDIT_HOOK = r'''
import _thread
import json.encoder
import os
import select
import sys
import threading
import time
import types

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

GUARD = "_grader_guard"
GUARD_B = GUARD.encode()
ARM = "_grader_audit.arm"
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
_fds = []
_ino = None
_tick = -1
_names = ()  # the FIFOs' file names (what "open" events are compared with)
_seen = set()
_records = 0
_dropped = 0
_fd_lost = 0
_busy = set()
_kinds = {}
_libdirs = ()
_stdlib = ()
_own = []  # code objects of this module (kept alive: their ids stay theirs)
_own_ids = set()
_guard_codes = []
_guard_ids = set()
_armed = False
_last = 0.0
_shell_file = None
_kernel = _session = _shell = _guard = _guard_dict = None
_objs = []
_traits = []
_tables = []
_classes = []
_guard_snap = {}
_guard_lens = {}


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


def _kind(filename):
    k = _kinds.get(filename)
    if k is None:
        k = _classify(filename)
        if len(_kinds) > 4096:
            _kinds.clear()
        _kinds[filename] = k
    return k


def _classify(fn):
    if type(fn) is not str:
        return STUDENT
    if fn.startswith("<frozen "):
        return THROUGH if fn[8:-1].split(".")[0] in THROUGH_STDLIB else STDLIB
    if fn.startswith("<") or "/../" in fn or "/./" in fn:
        return STUDENT
    for d in _libdirs:
        if fn.startswith(d):
            return LIB
    for d in _stdlib:
        if fn.startswith(d):
            name = fn[len(d):].split("/")[0]
            if name.endswith(".py"):
                name = name[:-3]
            return THROUGH if name in THROUGH_STDLIB else STDLIB
    return STUDENT


def _ours(f):
    if f is None:
        return False
    i = id(f.f_code)
    return i in _own_ids or i in _guard_ids


def _origin(f):
    """Who is behind an event raised in frame f: the student's frame, True (no frame decides: a thread or callback
    started from the standard library), or None (library code, the guard or this hook did it for itself)."""
    n = 0
    while f is not None and n < 64:
        co = f.f_code  # (each read of f_code is an event too: read once)
        i = id(co)
        if i in _own_ids or i in _guard_ids:
            return None
        k = _kind(co.co_filename)
        if k == STUDENT:
            return f
        if k != THROUGH:
            return None
        f = f.f_back
        n += 1
    return True


def _where(f):
    if f is None or f is True:
        return ""
    name = f.f_code.co_name
    text = "line %d" % f.f_lineno
    return text if name == "<module>" else text + " of " + name + "()"


def _machinery_function(fn, packages=MACHINERY):
    try:
        if fn.__globals__ is _guard_dict and _guard_dict is not None:
            return True
        module = fn.__module__
        return type(module) is str and module.split(".")[0] in packages
    except Exception:
        return False


def _is_class(obj):
    return issubclass(type(obj), type)


def _machinery(obj):
    if obj is None:
        return False
    if obj is _kernel or obj is _session or obj is _shell or obj is _guard or obj is _guard_dict:
        return True
    if type(obj) is _FunctionType:
        return _machinery_function(obj)
    module = _type_module(obj if _is_class(obj) else type(obj))
    return type(module) is str and module.split(".")[0] in MACHINERY


def _label(obj):
    if obj is _kernel:
        return "the kernel"
    if obj is _session:
        return "the kernel's session"
    if obj is _shell:
        return "the shell"
    if obj is _guard or obj is _guard_dict:
        return "the grader's guard"
    if _is_class(obj):
        return _type_name(obj)[:80]
    if type(obj) is _FunctionType:
        name = obj.__qualname__
        return name[:80] if type(name) is str else "?"
    return "a " + _type_name(type(obj))[:60] + " object"


def _class_attr(typ, key):
    for cls in typ.__mro__:
        d = _type_dict(cls)
        if key in d:
            return d[key]
    return None


def _names_guard(code, depth=0):
    if GUARD in code.co_names:
        return True
    for c in code.co_consts:
        if type(c) is str and GUARD in c:
            return True
        if type(c) is _CodeType and depth < 4 and _names_guard(c, depth + 1):
            return True
    return False


def _describe(event, args):
    """What a filtered event did, or None when it does not concern the machinery."""
    if event == "object.__getattr__":
        obj, name = args[0], args[1]
        if name == "__code__":
            ok = type(obj) is _FunctionType and _machinery_function(obj, KERNEL)  # (inspect.signature of an
            return "read the code of " + _label(obj) if ok else None  # ipyparallel function is fine)
        if name in FRAME_ATTRS:
            return "read a frame (" + _type_name(type(obj)) + "." + name + ")"
        return None
    if event == "object.__setattr__" or event == "object.__delattr__":
        obj, name = args[0], args[1]
        if not _machinery(obj):
            return None
        verb = "changed " if event == "object.__setattr__" else "deleted "
        return verb + _label(obj) + "." + (name[:60] if type(name) is str else "?")
    if event == "sys._getframe" or event == "sys._getframemodulename":
        return "walked the call stack (" + event + ")"
    if event == "gc.get_referents":
        return "searched the garbage collector for objects (gc.get_referents)"
    if event == "function.__new__":
        code = args[0]
        if type(code) is _CodeType and (id(code) in _guard_ids or _kind(code.co_filename) == LIB):
            return "made a new function from the code of " + code.co_name[:60]
        return None
    if event == "code.__new__":
        name = args[1] if len(args) > 1 else None
        if type(name) is str and _kind(name) == LIB:
            return "made a code object under a library's file name"
        return None
    if event == "os.listdir" or event == "os.scandir" or event == "open":
        path = args[0] if args else None
        if type(path) is bytes:
            path = path.decode("utf-8", "replace")
        if type(path) is not str:
            return None
        if event == "open" and path.endswith(_names):
            return "opened the audit channel"
        if path.startswith(("/proc/", "/dev/fd")) and ("/fd" in path or path.endswith("/mem")):
            return ("listed" if event != "open" else "opened") + " the kernel's own files (" + path[:40] + ")"
        return None
    if event in CTYPES:
        return "used ctypes (" + event + ")"
    return None


def _handle(event, args, f):
    if event == "exec":
        forced = f is not None and f.f_code.co_filename == _shell_file
        _check(forced)
        code = args[0] if args else None
        if forced or type(code) is not _CodeType:
            return
        o = _origin(f)
        if o is None:
            return
        if _names_guard(code):
            _emit("exec", "ran code that uses the grader's guard (" + GUARD + ")", _where(o))
        if _kind(code.co_filename) == LIB:
            _emit("exec", "ran code under a library's file name", _where(o))
        return
    if event == "compile":
        src, name = args[0], args[1]
        o = _origin(f)
        if o is None:
            return
        if type(name) is str and _kind(name) == LIB:
            _emit("compile", "compiled code under a library's file name", _where(o))
        if (type(src) is str and GUARD in src) or (type(src) is bytes and GUARD_B in src):
            _emit("compile", "compiled code that uses the grader's guard (" + GUARD + ")", _where(o))
        return
    if event == ARM:
        _arm(args)
        return
    what = ALWAYS.get(event)
    if what is not None:
        if not _ours(f):
            o = _origin(f)
            _emit(event, what, _where(o))
        return
    what = _describe(event, args)
    if what is not None:
        o = _origin(f)
        if o is not None:
            _emit(event, what, _where(o))


def _hook(event, args):
    if event not in WATCH or not (_armed or event == ARM):  # before the arm, only the grader's code has run
        return
    ident = _ident()
    if ident in _busy:  # an event raised by the hook itself
        return
    _busy.add(ident)
    try:
        _handle(event, args, _getframe(1))
    except Exception:
        pass
    finally:
        _busy.discard(ident)


# -- the kernel's state, compared with a snapshot taken before any student code ran ---------------------------

def _arm(args):
    global _armed, _kernel, _session, _shell, _guard, _guard_dict, _shell_file
    if _armed:
        _emit(ARM, "raised the grader's own audit event (" + ARM + ")")
        return
    _armed = True
    shell = args[0] if args else None
    kernel = getattr(shell, "kernel", None)
    session = getattr(kernel, "session", None)
    guard = _modules.get(GUARD)
    _shell, _kernel, _session, _guard = shell, kernel, session, guard
    try:
        _shell_file = _modules["IPython.core.interactiveshell"].InteractiveShell.run_code.__code__.co_filename
    except Exception:
        pass
    guarded = set()
    if guard is not None:
        _guard_dict = vars(guard)
        guarded = set(getattr(guard, "_classes", {}))
        growing = _guard_dict.get("GROWING", ())  # what the guard fills as it works (never replaced)
        growing = growing if type(growing) is tuple else ()
        for key, value in _guard_dict.items():
            if key == "last_ran":
                continue
            _guard_snap[key] = value
            if (type(value) is dict or type(value) is list) and not key.startswith("__") and key not in growing:
                _guard_lens[key] = len(value)  # (the builtins' size changes as IPython runs a cell)
            if type(value) is _FunctionType:
                _codes(value.__code__, _guard_codes)
        _guard_ids.update(id(c) for c in _guard_codes)
    for label, obj in (("the kernel", kernel), ("the kernel's session", session)):
        if obj is not None:
            d = _oga(obj, "__dict__")
            _objs.append((label, obj, type(obj), d, frozenset(d), {k: v for k, v in d.items() if callable(v)}))
    for label, obj, names in (("the kernel", kernel, KERNEL_TRAITS), ("the shell", shell, SHELL_TRAITS)):
        values = getattr(obj, "_trait_values", None)
        if type(values) is dict:
            _traits.append((label, values, {n: values[n] for n in names if n in values}))
    if kernel is not None:
        d = _oga(kernel, "__dict__")
        for name in ("shell_handlers", "control_handlers"):
            table = d.get(name)
            if type(table) is dict:
                _tables.append((name, d, table, dict(table)))
    seen = set()
    owners = (kernel, session, shell, getattr(shell, "compile", None),
              getattr(shell, "input_transformer_manager", None))
    for obj in owners:
        if obj is None:
            continue
        for cls in type(obj).__mro__:
            if cls is object or cls in guarded or id(cls) in seen:
                continue
            seen.add(id(cls))
            proxy = _type_dict(cls)
            _classes.append((cls, proxy, dict(proxy)))


def _check(forced=False):
    global _last
    if not _armed:
        return
    now = _now()
    if not forced and now - _last < CHECK_EVERY:
        return
    _last = now
    for label, obj, typ, d, keys, calls in _objs:
        if type(obj) is not typ:
            _emit("kernel", "changed the class of " + label)
        if _oga(obj, "__dict__") is not d:
            _emit("kernel", "replaced the attributes of " + label)
        for key in list(d):
            if type(key) is str and key not in keys and (callable(d.get(key)) or callable(_class_attr(typ, key))):
                _emit("kernel", "replaced " + label + "'s " + key[:60])
        for key, value in calls.items():
            if d.get(key, _MISSING) is not value:
                _emit("kernel", "replaced " + label + "'s " + key)
    for label, values, saved in _traits:
        for name, value in saved.items():
            if values.get(name, _MISSING) is not value:
                _emit("kernel", "replaced " + label + "'s " + name)
    for name, owner, table, saved in _tables:
        if owner.get(name) is not table:
            _emit("kernel", "replaced the kernel's " + name)
        elif len(table) != len(saved) or any(table.get(k, _MISSING) is not v for k, v in saved.items()):
            changed = sorted(k for k in list(table) + list(saved) if type(k) is str and
                             table.get(k, _MISSING) is not saved.get(k, _MISSING))
            _emit("kernel", "changed the kernel's " + name + " (" + ", ".join(dict.fromkeys(changed))[:120] + ")")
    for cls, proxy, saved in _classes:
        if len(proxy) != len(saved):
            for key in sorted(k for k in set(proxy) ^ set(saved) if type(k) is str):
                _emit("kernel", "changed " + _type_name(cls) + "." + key[:60])
        for key, value in saved.items():
            if proxy.get(key, _MISSING) is not value:
                _emit("kernel", "replaced " + _type_name(cls) + "." + key)
    if _guard is not None:
        if _modules.get(GUARD) is not _guard:
            _emit("guard", "replaced or removed the grader's guard (sys.modules['" + GUARD + "'])")
        gd = _guard_dict
        for key, value in _guard_snap.items():
            if gd.get(key, _MISSING) is not value:
                _emit("guard", "changed the grader's guard (" + GUARD + "." + key + ")")
        for key, n in _guard_lens.items():
            if len(_guard_snap[key]) != n:
                _emit("guard", "changed the grader's guard (" + GUARD + "." + key + ")")
    if getattr(_threading, "_trace_hook", None) is not None:
        _emit("threading.settrace", "installed a trace function for new threads (threading.settrace)")
    if getattr(_threading, "_profile_hook", None) is not None:
        _emit("threading.setprofile", "installed a profile function for new threads (threading.setprofile)")


def _checker():
    """Waits for the grader's tick; checks; answers.  So a last check happens after the last cell, whatever ran."""
    ident = _ident()
    while True:
        try:
            _poll.poll()
            data = _read(_tick, 4096)
        except (BlockingIOError, InterruptedError):
            continue
        except Exception:
            return
        if not data:
            return
        _busy.add(ident)
        try:
            _check(True)
        except Exception:
            pass
        finally:
            _busy.discard(ident)
        for part in data.split(b"\n"):
            if part:
                _line("audit.sync", "", "", ',"n":' + _esc(part.decode("ascii", "replace")[:20]))


def install(path, token, trusted=()):
    """Open the channel (and the tick FIFO next to it), install the hook, start the checker."""
    global _token, _ino, _tick, _names, _libdirs, _stdlib
    import fcntl

    _token = token
    fd = _open(path, os.O_WRONLY | os.O_NONBLOCK | os.O_CLOEXEC)
    st = _fstat(fd)
    _ino = (st.st_dev, st.st_ino)
    _fds.append(fd)
    try:
        _fds.append(fcntl.fcntl(fd, fcntl.F_DUPFD_CLOEXEC, 600 + os.getpid() % 300))
    except OSError:
        pass
    _names = (os.path.basename(path), os.path.basename(path) + ".tick")
    found = [p for p in sys.path if type(p) is str and p.endswith(("site-packages", "dist-packages"))]
    found += list(trusted)
    dirs = set()
    for d in found:
        if d and os.path.isabs(d) and os.path.realpath(d) != "/":
            dirs.add(os.path.join(d, ""))
            dirs.add(os.path.join(os.path.realpath(d), ""))
    _libdirs = tuple(sorted(dirs))
    std = {os.path.dirname(os.__file__), os.path.dirname(types.__file__)}
    _stdlib = tuple(sorted({os.path.join(d, "") for d in std if d} |
                           {os.path.join(os.path.realpath(d), "") for d in std if d}))
    for value in list(globals().values()):
        if type(value) is _FunctionType:
            _codes(value.__code__, _own)
    _own_ids.update(id(c) for c in _own)
    tick = False
    try:
        _tick = _open(path + ".tick", os.O_RDONLY | os.O_NONBLOCK | os.O_CLOEXEC)
        _poll.register(_tick, select.POLLIN)
        tick = True
    except OSError:
        pass
    sys.addaudithook(_hook)
    if tick:
        _thread.start_new_thread(_checker, ())
    _line("audit.hello", "", "", ',"fds":[' + ",".join(str(f) for f in _fds) + '],"tick":' +
          ("true" if tick else "false") + ',"pid":' + str(os.getpid()))


if "_ARGS" in globals():
    install(*_ARGS)
'''


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

    def __enter__(self) -> "AuditLog":
        return self

    def __exit__(self, *exc) -> None:
        self.close()


def describe(record: dict, cell: str) -> str:
    """The flag for one record: ``cell 5 (q1): student code installed ... (line 3) — review: ...``."""
    where = f" ({record['where']})" if record.get("where") else ""
    return f"{cell}: student code {record.get('what') or record.get('event')}{where} — {REVIEW}"


# -- the static scan --------------------------------------------------------------------------------------

NAMES = {  # identifier -> what it reaches
    "do_execute": "the kernel's do_execute",
    "shell_handlers": "the kernel's shell_handlers",
    "control_handlers": "the kernel's control_handlers",
    "execute_request": "the kernel's execute_request handler",
    "dispatch_shell": "the kernel's dispatch_shell",
    "settrace": "a trace function (settrace)",
    "setprofile": "a profile function (setprofile)",
    "_getframe": "stack frames (sys._getframe)",
    "_current_frames": "stack frames (sys._current_frames)",
    "f_back": "stack frames (f_back)",
    "f_globals": "stack frames (f_globals)",
    "f_locals": "stack frames (f_locals)",
    "tb_frame": "stack frames (tb_frame)",
    "gi_frame": "stack frames (gi_frame)",
    "get_referrers": "the garbage collector's objects (gc.get_referrers)",
    "get_referents": "the garbage collector's objects (gc.get_referents)",
    "get_objects": "the garbage collector's objects (gc.get_objects)",
    GUARD_MODULE: f"the grader's guard ({GUARD_MODULE})",
    "_grader_audit": "the grader's audit hook",
    "addaudithook": "audit hooks (sys.addaudithook)",
    "ctypes": "ctypes",
}
INSPECT_FRAMES = {"stack", "currentframe", "getouterframes", "getinnerframes", "trace"}
# A class whose comparison gives one answer whatever it is given: an answer that says it equals anything.
COMPARISONS = {"__eq__", "__ne__", "__lt__", "__le__", "__gt__", "__ge__", "__contains__"}
_WORD = re.compile(r"(?<![A-Za-z0-9_])(" + "|".join(re.escape(n) for n in sorted(NAMES, key=len, reverse=True))
                   + r")(?![A-Za-z0-9_])")
_TEXT_ASSIGN = re.compile(r"get_ipython\(\)(?:\.\w+)+\s*=(?!=)|setattr\(\s*get_ipython\(\)")
_INSPECT_TEXT = re.compile(r"\binspect\s*\.\s*(" + "|".join(sorted(INSPECT_FRAMES)) + r")\b")
MAX_SCAN_FLAGS = 30
MAX_PARSED_CHARS = 100_000  # a cell longer than this is scanned as text: parsing it could take gigabytes


def _rooted(node: ast.AST, aliases: set[str]) -> bool:
    """``node`` is ``get_ipython()`` or reached from it (``get_ipython().kernel``, ``ip.kernel.session`` ...)."""
    while True:
        if isinstance(node, ast.Call):
            func = node.func
            if (isinstance(func, ast.Name) and func.id == "get_ipython") or \
                    (isinstance(func, ast.Attribute) and func.attr == "get_ipython"):
                return True
            node = func
        elif isinstance(node, (ast.Attribute, ast.Subscript)):
            node = node.value
        elif isinstance(node, ast.Name):
            return node.id in aliases
        else:
            return False


def _text(node: ast.AST) -> str:
    try:
        text = ast.unparse(node)
    except Exception:  # noqa: BLE001
        text = "?"
    return text if len(text) <= 60 else text[:57] + "..."


def _constant_comparisons(node: ast.ClassDef) -> list[str]:
    """``__eq__`` and the like, defined in the class's body, that return one constant whatever they are given."""
    found = []
    for item in node.body:
        value = None
        if isinstance(item, (ast.FunctionDef, ast.AsyncFunctionDef)) and item.name in COMPARISONS:
            body = [b for b in item.body if not (isinstance(b, ast.Expr) and isinstance(b.value, ast.Constant))]
            if len(body) == 1 and isinstance(body[0], ast.Return) and isinstance(body[0].value, ast.Constant):
                value, name = body[0].value, item.name
        elif isinstance(item, ast.Assign) and isinstance(item.value, ast.Lambda) and \
                isinstance(item.value.body, ast.Constant):
            names = [t.id for t in item.targets if isinstance(t, ast.Name) and t.id in COMPARISONS]
            value, name = (item.value.body, names[0]) if names else (None, "")
        if value is not None:
            found.append(f"a comparison that answers {value.value!r} whatever it is given ({node.name}.{name}): "
                         "an object that says it equals anything")
    return found


def _scan_tree(tree: ast.AST, aliases: set[str]) -> list[str]:
    found = []
    for node in ast.walk(tree):
        if isinstance(node, ast.ClassDef):
            found += _constant_comparisons(node)
        if isinstance(node, ast.Name) and node.id in NAMES:
            found.append(NAMES[node.id])
        elif isinstance(node, ast.Attribute):
            if node.attr in NAMES:
                found.append(NAMES[node.attr])
            if node.attr in INSPECT_FRAMES and isinstance(node.value, ast.Name) and node.value.id == "inspect":
                found.append(f"stack frames (inspect.{node.attr})")
        elif isinstance(node, (ast.Import, ast.ImportFrom)):
            modules = [a.name for a in node.names] if isinstance(node, ast.Import) else [node.module or ""]
            for module in modules:
                if module.split(".")[0] in NAMES:
                    found.append(NAMES[module.split(".")[0]])
            for alias in node.names:
                if alias.name in NAMES:
                    found.append(NAMES[alias.name])
                if isinstance(node, ast.ImportFrom) and node.module == "inspect" and alias.name in INSPECT_FRAMES:
                    found.append(f"stack frames (inspect.{alias.name})")
        elif isinstance(node, ast.Constant) and isinstance(node.value, str):
            for name in set(_WORD.findall(node.value)):
                found.append(f"{NAMES[name]}, named in a string")
        if isinstance(node, (ast.Assign, ast.AnnAssign, ast.AugAssign)):
            targets = node.targets if isinstance(node, ast.Assign) else [node.target]
            for target in targets:
                for t in (target.elts if isinstance(target, (ast.Tuple, ast.List)) else [target]):
                    if isinstance(t, (ast.Attribute, ast.Subscript)) and _rooted(t.value, aliases):
                        found.append(f"an assignment to {_text(t)}")
            value = node.value
            if value is not None and _rooted(value, aliases):
                for target in targets:
                    if isinstance(target, ast.Name):
                        aliases.add(target.id)
        elif isinstance(node, ast.NamedExpr) and _rooted(node.value, aliases):
            aliases.add(node.target.id)
        elif isinstance(node, ast.Call) and isinstance(node.func, ast.Name) and node.func.id in ("setattr", "delattr"):
            if node.args and _rooted(node.args[0], aliases):
                found.append(f"{node.func.id}() on {_text(node.args[0])}")
    return found


def _parse(source: str) -> ast.AST | None:
    from .protect import parse  # (IPython syntax, magics and !commands, as IPython would run it; one thread at a time)

    return parse(source)


def scan_cells(nb) -> list[str]:
    """Flags for the submission's own code cells (not test cells, not locked cells: those are the instructor's,
    restored from the source) that use what can make a test pass without running it.  Each flag names the
    cell (index and grade_id) and the construct, once per cell.  A cell longer than MAX_PARSED_CHARS is
    searched as text, in time and memory linear in its length."""
    from .exercise import grade_id, is_locked

    flags, aliases = [], set()
    for index, cell in enumerate(nb.cells):
        if cell.get("cell_type") != "code" or is_locked(cell):
            continue
        source = cell.get("source", "")
        source = "".join(source) if isinstance(source, list) else str(source)
        tree = _parse(source) if len(source) <= MAX_PARSED_CHARS else None
        if tree is not None:
            found = _scan_tree(tree, aliases)
        else:
            found = [NAMES[name] for name in _WORD.findall(source)]
            found += [f"stack frames (inspect.{m})" for m in _INSPECT_TEXT.findall(source)]
            found += ["an assignment to an attribute of get_ipython()"] * bool(_TEXT_ASSIGN.search(source))
        gid = grade_id(cell)
        label = f"cell {index} ({gid})" if gid else f"cell {index}"
        for what in dict.fromkeys(found):
            flags.append(f"{label}: the submitted code uses {what} — {REVIEW}")
    if len(flags) > MAX_SCAN_FLAGS:
        flags = flags[:MAX_SCAN_FLAGS] + [f"... and {len(flags) - MAX_SCAN_FLAGS} more such uses — {REVIEW}"]
    return flags
