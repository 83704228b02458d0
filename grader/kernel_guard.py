"""Runs inside the student's kernel: undo what student code did to the machinery tests rely on.

The grader sends this module's source to the kernel before any student code runs
and calls ``install`` the way it later calls ``restore``; then, for each notebook,
``rely`` with the modules its locked cells import (worked out from the source by
:mod:`grader.protect`), ``hold`` after each locked cell with the names it bound
that later tests read, and right before every test cell ``restore(names)``
through a ``user_expressions`` request, which IPython evaluates without input or
AST transformers.  ``restore`` puts back:

- IPython's input transformers, AST transformers, event callbacks, and shell
  methods that student code overrode (``showtraceback``, ``run_cell`` ...);
- the modules tests rely on (``builtins``, ``os``, ``numpy``, ``ipyparallel``,
  the tests' helper module ``course.testing``, and what the locked cells import)
  with every loaded submodule (numpy's only where named): their public
  attributes, their entries in ``sys.modules``, and the methods of the classes
  they define (patched, added or deleted);
- ``sys.excepthook``, ``sys.displayhook``, ``sys.stdout`` and ``sys.stderr``;
- the names the test reads that the instructor's locked cells bound
  (``_rc``, ``_time`` ...): the objects those cells bound;

and reports each repair so the grader can flag it.  Each test cell ends with a
call to ``ran(nonce)``: if the test's code was blanked or rewritten, the nonce
never arrives and the test earns nothing.  ``check`` then says whether it did,
and what student code the test called changed while it ran: a name the test
relies on, or a module (both cost the test its points).  This defends against
tampering with these mechanisms; code written against this module itself is out
of its scope (see docs/threat-model.md).
"""

import builtins
import importlib
import json
import sys

MODULES = ("builtins", "os", "os.path", "math", "random", "time", "json", "gzip", "hashlib", "functools",
           "itertools", "collections", "operator", "numpy", "ipyparallel")
HELPERS = ("course.testing",)  # the tests' own helpers: every name (private ones too) kept, names added removed
CLASS_MODULES = ("ipyparallel", "IPython.core.interactiveshell", "ipykernel.zmqshell", "ipykernel.ipkernel")
# Packages whose submodules count only where named (numpy has a hundred; IPython's are the kernel's machinery,
# whose classes CLASS_MODULES covers): the others bring all their loaded submodules.
SHALLOW = ("numpy", "IPython", "ipykernel", "traitlets", "zmq", "jupyter_client", "tornado", "asyncio")
SYS_ATTRS = ("stdout", "stderr")
# Set afresh by the kernel for every request, or switched by the library's own API (view.use_cloudpickle()
# sets ipyparallel's pickle; the tests that care choose theirs): not student changes.
VOLATILE = {"builtins": {"input", "raw_input", "get_ipython", "exit", "quit", "display", "__IPYTHON__"},
            "ipyparallel.serialize.serialize": {"pickle"}}
CLASS_CACHES = {"__slotnames__", "__abstractmethods__", "_abc_impl"}  # what Python adds to classes as they are used
SHELL_LISTS = ("input_transformers_cleanup", "input_transformers_post", "ast_transformers")
# Containers that grow as notebooks are graded, after the audit hook's snapshot of this module (grader.audit).
GROWING = ("_modules", "_classes", "_wanted", "_names", "_given", "_stash")
_HEAP, _IMMUTABLE = 1 << 9, 1 << 8  # Py_TPFLAGS_HEAPTYPE, Py_TPFLAGS_IMMUTABLETYPE: classes code can change

_modules = {}  # type: dict[str, list]  # module name -> [module, {attribute: value}, {function name: its code} (helpers), size of its dict]
_classes = {}  # class -> {attribute: value}
_wanted = {}  # module name relied on -> True: with its loaded submodules, False: alone
_sys = {}
_shell = None
_shell_dict = None
_shell_lists = {}
_events = {}
_seen = set()
_shadows = {}  # names in the notebook's namespace that hid builtins at install time
_stash = {}  # globals that hide builtins, set aside while a test runs
_names = {}  # type: dict[str, object]  # names the instructor's locked cells bound -> the objects they bound
_given = {}  # type: dict[str, object]  # the student's objects for those names, set aside while a test runs
_state = {"loaded": 0}  # how many modules were loaded when the relied-on ones were last looked for
last_ran = None
_MISSING = object()
_IMMUTABLE_TYPES = (str, int, float, bool, bytes, complex, type(None))


def _same(value, held):
    """The notebook's ``value`` is what the instructor's cell bound: the object itself, or an equal value of the
    same exact immutable built-in type (a string bound again to the same text is no change)."""
    return value is held or type(value) is type(held) and type(held) in _IMMUTABLE_TYPES and value == held


def _public(namespace, everything=False):
    return {k: v for k, v in namespace.items() if everything or not k.startswith("_")}


def install(shell):
    """Snapshot the state that restore() returns to."""
    global _shell, _shell_dict
    for name in CLASS_MODULES:
        try:
            module = importlib.import_module(name)
        except Exception:
            continue
        for value in list(vars(module).values()):
            if isinstance(value, type) and value.__module__.split(".")[0] in ("ipyparallel", "IPython", "ipykernel"):
                _classes[value] = dict(vars(value))
    _rely(MODULES + HELPERS)
    for name in SYS_ATTRS:
        _sys[name] = getattr(sys, name)
    _shell = shell
    _shell_dict = dict(vars(shell))
    _shadows.update({k: v for k, v in shell.user_ns.items() if hasattr(builtins, k)})
    for name in SHELL_LISTS:
        _shell_lists[name] = list(getattr(shell, name))
    _events.update({event: list(callbacks) for event, callbacks in shell.events.callbacks.items()})


def rely(names):
    """Before a notebook's first cell: import the modules its locked cells import (a JSON list) and keep them."""
    _rely(tuple(json.loads(names)))
    return json.dumps(len(_modules))


def _rely(names):
    for name in names:
        if name in _wanted:
            continue
        try:
            importlib.import_module(name)
        except BaseException:  # not a module (a function imported from one), or not here
            continue
        _wanted[name] = name.split(".")[0] not in SHALLOW
        _state["loaded"] = 0  # look again, even if the import loaded nothing new
    _look()


def _look():
    """Keep each loaded module relied on that is not kept yet (those loaded since: by a test, by student code)."""
    modules = sys.modules
    if len(modules) == _state["loaded"]:
        return
    _state["loaded"] = len(modules)
    deep = tuple(name + "." for name, sub in _wanted.items() if sub)
    for name, module in list(modules.items()):
        if name in _modules or type(name) is not str or not (name in _wanted or name.startswith(deep)):
            continue
        if type(module) is not type(sys):
            continue
        everything = name == "builtins" or name in HELPERS
        saved = _public(vars(module), everything=everything)
        skip = VOLATILE.get(name, ())
        saved = {k: v for k, v in saved.items() if k not in skip}
        codes = {}
        if name in HELPERS:
            codes = {k: (v.__code__, v.__defaults__, v.__kwdefaults__) for k, v in saved.items()
                     if type(v).__name__ == "function"}
        _modules[name] = [module, saved, codes, len(vars(module))]
        for value in list(vars(module).values()):
            if isinstance(value, type) and value not in _classes and vars(value).get("__module__") == name and \
                    value.__flags__ & _HEAP and not value.__flags__ & _IMMUTABLE:
                _classes[value] = dict(vars(value))


def _put_back(owner, label, saved, current, repairs):
    for key, value in saved.items():
        if current.get(key, _put_back) is not value:
            try:
                setattr(owner, key, value)
            except (AttributeError, TypeError):
                continue
            repairs.append(f"{label}.{key}")


def _restore_modules(repairs):
    """Put back the modules relied on, their classes and their sys.modules entries; note each repair."""
    _look()
    modules = sys.modules
    for name, kept in _modules.items():
        module, saved, codes, size = kept
        if modules.get(name) is not module:
            modules[name] = module
            repairs.append(f"sys.modules[{name!r}]")
        current = vars(module)
        for key, value in saved.items():
            now = current.get(key, _MISSING)
            if now is value:
                continue
            if value is None and type(now) is type(sys) and modules.get(key) is now:  # the library imported it
                saved[key] = now  # lazily, into the global it kept for it (ipyparallel.client.map.numpy)
                continue
            try:
                setattr(module, key, value)
            except (AttributeError, TypeError):
                continue
            repairs.append(f"{name}.{key}")
        if len(current) != size:  # names added (or removed): look at them
            helper = name in HELPERS
            for key in [k for k in current if k not in saved and type(k) is str]:
                value = current[key]
                if key.startswith("__") or not helper and (key.startswith("_") or not hasattr(builtins, key)):
                    continue
                if not helper and type(value) is type(sys) and getattr(value, "__name__", None) == f"{name}.{key}":
                    continue  # a submodule, imported since
                del current[key]  # a name added to hide a builtin (or anything added to the helpers)
                repairs.append(f"{name}.{key}")
            kept[3] = len(current)
        for key, (code, defaults, kwdefaults) in codes.items():
            function = saved[key]
            if function.__code__ is not code or function.__defaults__ is not defaults or \
                    function.__kwdefaults__ is not kwdefaults:
                function.__code__, function.__defaults__, function.__kwdefaults__ = code, defaults, kwdefaults
                repairs.append(f"{name}.{key}'s code")
    for cls, saved in _classes.items():
        current = vars(cls)
        if len(current) != len(saved):
            for key in [k for k in current if k not in saved and k not in CLASS_CACHES]:
                try:
                    delattr(cls, key)
                    repairs.append(f"{cls.__name__}.{key}")
                except (AttributeError, TypeError):
                    pass
        _put_back(cls, cls.__name__, saved, current, repairs)


def restore(names=()):
    """Undo changes to the snapshot, and give the test the objects the instructor's cells bound to ``names``;
    return a JSON list of what was repaired (each reported once)."""
    repairs = []
    _given.clear()  # (what a test that timed out left here)
    _restore_modules(repairs)
    for name, value in _sys.items():
        if getattr(sys, name) is not value:
            setattr(sys, name, value)
            repairs.append(f"sys.{name}")
    shell = _shell
    for key in [k for k in vars(shell) if k not in _shell_dict]:
        if callable(getattr(type(shell), key, None)):
            delattr(shell, key)
            repairs.append(f"the kernel's {key}")
    for name, saved in _shell_lists.items():
        current = getattr(shell, name)
        if current != saved:
            current[:] = saved
            repairs.append(f"IPython's {name}")
    for event, callbacks in shell.events.callbacks.items():
        if callbacks != _events.get(event, []):
            callbacks[:] = _events.get(event, [])
            repairs.append(f"IPython's {event} callbacks")
    namespace = shell.user_ns
    for name in [k for k in namespace if hasattr(builtins, k) and not k.startswith("_")]:
        if namespace[name] is not _shadows.get(name, _put_back):  # a global hides the builtin tests use
            _stash[name] = namespace.pop(name)
            repairs.append(f"the name {name!r} (a global that hid the builtin; the tests used the builtin)")
    for name in names:
        if name in _names and not _same(namespace.get(name, _MISSING), _names[name]):
            _given[name] = namespace.get(name, _MISSING)
            namespace[name] = _names[name]
            repairs.append(f"the name {name!r}, which the tests use (the exercise's locked cells bound it)")
    new = [r for r in repairs if r not in _seen]
    _seen.update(new)
    return json.dumps(new)


def hold(names):
    """After a locked cell: the objects it bound to ``names`` are the instructor's (a name it left unbound is not)."""
    namespace = _shell.user_ns
    for name in names:
        value = namespace.get(name, _MISSING)
        if value is _MISSING:
            _names.pop(name, None)
        else:
            _names[name] = value


def ran(nonce):
    global last_ran
    last_ran = nonce


def check(keeps=(), binds=()):
    """After a test: whether it ran to its end, which of the names it relies on (``keeps``) and which modules
    changed while it ran (student code it called did it: put back now); then hold the names it bound itself
    (``binds``) and give the notebook back its own objects.  A JSON list: [nonce, names, modules]."""
    namespace = _shell.user_ns
    changed = [name for name in keeps if name in _names and not _same(namespace.get(name, _MISSING), _names[name])]
    patched = []
    _restore_modules(patched)
    hold(binds)
    for name, value in list(_given.items()):
        if namespace.get(name, _MISSING) is _names.get(name, _MISSING) and name not in binds:
            if value is _MISSING:
                namespace.pop(name, None)
            else:
                namespace[name] = value
    _given.clear()
    namespace.update(_stash)
    _stash.clear()
    return json.dumps([last_ran, changed, list(dict.fromkeys(patched))])


builtins  # noqa: B018 - no effect, a reminder: the module above is restored like the others
