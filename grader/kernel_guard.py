"""Runs inside the student's kernel: undo what student code did to the machinery tests rely on.

The grader sends this module's source to the kernel before any student code runs
and calls ``install`` the way it later calls ``restore``; then, right before every test cell, calls ``restore()`` through a
``user_expressions`` request, which IPython evaluates without input or AST
transformers.  ``restore`` puts back:

- IPython's input transformers, AST transformers, event callbacks, and shell
  methods that student code overrode (``showtraceback``, ``run_cell`` ...);
- public attributes of modules tests use (``builtins``, ``os``, ``numpy``,
  ``ipyparallel`` ...) and methods of ipyparallel's classes that were patched;
- ``sys.excepthook``, ``sys.displayhook``, ``sys.stdout`` and ``sys.stderr``;

and reports each repair so the grader can flag it.  Each test cell ends with a
call to ``ran(nonce)``: if the test's code was blanked or rewritten, the nonce
never arrives and the test earns nothing.  This defends against tampering with
these mechanisms; code written against this module itself is out of its scope
(see the threat model in README.md).
"""

import builtins
import importlib
import json
import sys

MODULES = ("builtins", "os", "os.path", "math", "random", "time", "json", "gzip", "hashlib", "functools",
           "itertools", "collections", "operator", "numpy", "ipyparallel")
CLASS_MODULES = ("ipyparallel", "IPython.core.interactiveshell", "ipykernel.zmqshell", "ipykernel.ipkernel")
SYS_ATTRS = ("stdout", "stderr")
# Set afresh by the kernel for every request: not student changes.
VOLATILE = {"builtins": {"input", "raw_input", "get_ipython", "exit", "quit", "display", "__IPYTHON__"}}
SHELL_LISTS = ("input_transformers_cleanup", "input_transformers_post", "ast_transformers")

_modules = {}
_classes = {}
_sys = {}
_shell = None
_shell_dict = None
_shell_lists = {}
_events = {}
_seen = set()
_shadows = {}  # names in the notebook's namespace that hid builtins at install time
_stash = {}  # globals that hide builtins, set aside while a test runs
last_ran = None


def _public(namespace, everything=False):
    return {k: v for k, v in namespace.items() if everything or not k.startswith("_")}


def install(shell):
    """Snapshot the state that restore() returns to."""
    global _shell, _shell_dict
    for name in MODULES:
        try:
            module = importlib.import_module(name)
        except Exception:
            continue
        saved = _public(vars(module), everything=name == "builtins")
        _modules[name] = (module, {k: v for k, v in saved.items() if k not in VOLATILE.get(name, ())})
    for name in CLASS_MODULES:
        try:
            module = importlib.import_module(name)
        except Exception:
            continue
        for value in list(vars(module).values()):
            if isinstance(value, type) and value.__module__.split(".")[0] in ("ipyparallel", "IPython", "ipykernel"):
                _classes[value] = dict(vars(value))
    for name in SYS_ATTRS:
        _sys[name] = getattr(sys, name)
    _shell = shell
    _shell_dict = dict(vars(shell))
    _shadows.update({k: v for k, v in shell.user_ns.items() if hasattr(builtins, k)})
    for name in SHELL_LISTS:
        _shell_lists[name] = list(getattr(shell, name))
    _events.update({event: list(callbacks) for event, callbacks in shell.events.callbacks.items()})


def _put_back(owner, label, saved, current, repairs):
    for key, value in saved.items():
        if current.get(key, _put_back) is not value:
            try:
                setattr(owner, key, value)
            except (AttributeError, TypeError):
                continue
            repairs.append(f"{label}.{key}")


def restore():
    """Undo changes to the snapshot; return a JSON list of what was repaired (each reported once)."""
    repairs = []
    for name, (module, saved) in _modules.items():
        _put_back(module, name, saved, vars(module), repairs)
    for cls, saved in _classes.items():
        current = vars(cls)
        for key in [k for k in current if k not in saved and not k.startswith("__")]:
            try:
                delattr(cls, key)
                repairs.append(f"{cls.__name__}.{key}")
            except (AttributeError, TypeError):
                pass
        _put_back(cls, cls.__name__, saved, current, repairs)
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
    new = [r for r in repairs if r not in _seen]
    _seen.update(new)
    return json.dumps(new)


def ran(nonce):
    global last_ran
    last_ran = nonce


def check():
    """After a test: give the notebook back its globals; say whether the test ran to its end."""
    _shell.user_ns.update(_stash)
    _stash.clear()
    return json.dumps(last_ran)


builtins  # the module above is restored like the others
