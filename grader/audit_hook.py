"""The second part of the audit hook that runs inside the kernel: where an event comes from, what it means, the
checks of the kernel's state, and :func:`install` (see :mod:`grader.audit_channel`, the first part, and
:mod:`grader.audit`, which installs both and reads what they write).

Not imported by the kernel: :func:`grader.audit.hook_source` joins the text of :mod:`grader.kernel_names`,
:mod:`grader.audit_channel` and this file (their imports of ``grader`` modules removed) into one program that runs
in a private namespace, so that nothing here is reachable by name from the notebook.  Only the standard library
may be imported here.
"""

import _thread
import os
import select
import sys
import types

from grader.audit_channel import (  # inlined by grader.audit.hook_source
    _MISSING,
    ALWAYS,
    ARM,
    CHECK_EVERY,
    CTYPES,
    FRAME_ATTRS,
    GUARD,
    GUARD_B,
    KERNEL,
    KERNEL_TRAITS,
    LIB,
    MACHINERY,
    SHELL_TRAITS,
    STDLIB,
    STUDENT,
    THROUGH,
    THROUGH_STDLIB,
    WATCH,
    _codes,
    _CodeType,
    _emit,
    _esc,
    _fds,
    _fstat,
    _FunctionType,
    _getframe,
    _ident,
    _line,
    _modules,
    _now,
    _oga,
    _open,
    _poll,
    _read,
    _threading,
    _type_dict,
    _type_module,
    _type_name,
)

_tick = -1
_names = ()  # the FIFOs' file names (what "open" events are compared with)
_busy = set()
_kinds = {}  # type: dict[int, str]
_libdirs = ()
_stdlib = ()
_own = []  # type: list[object]  # code objects of this module (kept alive: their ids stay theirs)
_own_ids = set()
_guard_codes = []  # type: list[object]
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


_ARGS = globals().get("_ARGS")  # given by install_code
if _ARGS is not None:
    install(*_ARGS)
