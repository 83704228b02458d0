"""A static scan of the submitted cells for what reaches into the grading machinery (the kernel's handlers,
frames, trace functions, the guard, audit hooks, ctypes) and for answers that say they equal anything.

:class:`grader.preprocessors.scan_submission.ScanSubmission` turns what :func:`scan_cells` finds into flags;
the audit hook (:mod:`grader.audit`) catches the same things as they run.
"""

from __future__ import annotations

import ast
import re

from .kernel_names import GUARD_MODULE

REVIEW = "review: this can make a test pass without running it"  # how every flag of the scan and the hook ends

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
    except Exception:
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
        elif (isinstance(node, ast.Call) and isinstance(node.func, ast.Name) and node.func.id in ("setattr", "delattr")
              and node.args and _rooted(node.args[0], aliases)):
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

    aliases: set[str]
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
