"""What the guard keeps as the instructor made it, worked out from the exercise's *source* (never a submission).

A test cell reads names that the instructor's locked cells bound before it: the
set-up cell's helpers (``_rc``, ``_time``, ``_engine_pids`` ...) and what earlier
test cells defined.  Student cells run in the same namespace and could rebind
them (``_time`` made to jump), so :func:`protection` finds, from the source:

- for each locked cell, the names it binds that a later test reads: the guard
  snapshots their objects after the cell ran (:func:`grader.kernel_guard.hold`);
- for each test cell, the names it reads (itself, in the functions it defines,
  and in the functions of earlier locked cells it uses) that earlier locked cells
  bound: the guard puts the snapshot back before the test, and the test does not
  count if student code it called rebound one of them while it ran;
- the modules the locked cells import, which the guard imports before any
  student code and protects with all their loaded submodules.

Names that the source's solution cells bind (the student's answers:
``first_done``, ``engine_ids`` ...) are the student's, never restored; neither
are the names IPython keeps for itself (``_``, ``_i``, ``In`` ...).  The analysis
is static and errs towards reading: a name counts as read by a cell unless the
cell binds it first, on every path.
"""

from __future__ import annotations

import ast
import functools
import re
import threading
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import TypeAlias

from .exercise import grade_id, is_locked, is_solution, is_test

# CPython 3.11 builds Python AST objects (ast.parse, ast.literal_eval) with one counter per interpreter, so two threads
# doing it at once fail ("SystemError: AST constructor recursion depth mismatch"), and the grader's workers are
# threads: every parse of the grader's (here, the audit's scan, ExecuteSubmission's literal_eval) takes this lock.
PARSE_LOCK = threading.Lock()
# Names IPython binds in the notebook's namespace as cells run: never the instructor's.
IPYTHON_NAMES = re.compile(r"^(_+|_i+|_i?\d+|_[iod]h|In|Out|exit|quit|get_ipython|__builtins__|__name__|__doc__)$")
# The nodes with a scope of their own (what _scope finds nested in a body), by kind.
Function: TypeAlias = ast.FunctionDef | ast.AsyncFunctionDef | ast.Lambda
Comprehension: TypeAlias = ast.ListComp | ast.SetComp | ast.GeneratorExp | ast.DictComp
Scope: TypeAlias = Function | ast.ClassDef | Comprehension


@dataclass
class Protection:
    """What the guard protects for one exercise (all lists sorted, so that requests are deterministic)."""

    modules: list[str] = field(default_factory=list)  # imported by locked cells: pre-imported, protected
    binds: dict[str, list[str]] = field(default_factory=dict)  # locked cell's grade_id -> names to snapshot after it
    reads: dict[str, list[str]] = field(default_factory=dict)  # test's grade_id -> names to restore before it
    keeps: dict[str, list[str]] = field(default_factory=dict)  # test's grade_id -> of its reads, those it never
    # binds itself: if one of them changed while it ran, student code it called did it


def parse(source: str) -> ast.Module | None:
    """A cell's code as Python sees it (IPython's magics and ``!`` commands turned into calls), or None."""
    with PARSE_LOCK:
        try:
            return ast.parse(source)
        except (SyntaxError, ValueError):
            pass
        try:
            from IPython.core.inputtransformer2 import TransformerManager

            return ast.parse(TransformerManager().transform_cell(source))
        except Exception:  # a cell that is not Python either binds and reads nothing we can know
            return None


def protection(nb) -> Protection:
    """The :class:`Protection` of the source notebook ``nb`` (worked out once per source: a copy each call)."""
    key = tuple((grade_id(c), "solution" if is_solution(c) else "test" if is_test(c) else "locked" if is_locked(c)
                 else "", c.source if isinstance(c.source, str) else "".join(c.source))
                for c in nb.cells if c.get("cell_type") == "code")
    plan = _protection(key)
    return Protection(list(plan.modules), {k: list(v) for k, v in plan.binds.items()},
                      {k: list(v) for k, v in plan.reads.items()}, {k: list(v) for k, v in plan.keeps.items()})


@functools.lru_cache(maxsize=64)
def _protection(cells_key: tuple) -> Protection:
    student: set[str] = set()
    cells = []  # (grade_id, kind, Flow) of the locked code cells, in order
    for gid, kind, source in cells_key:
        tree = parse(source) if kind else None
        if tree is None:
            continue
        flow = Flow().run(tree)
        if kind == "solution":
            student |= flow.bound | flow.declared_global
        else:
            cells.append((gid, kind, flow))
    functions: dict[str, set[str]] = {}  # a locked cell's function (the last one bound by that name) -> its reads
    bound: set[str] = set()  # by locked cells so far
    binders: dict[str, str] = {}  # name -> grade_id of the last locked cell that bound it
    needed: dict[str, set[str]] = {}  # grade_id -> names of it that later tests read
    plan = Protection()
    modules: set[str] = set()
    for gid, kind, flow in cells:
        modules |= flow.modules
        if kind == "test":
            reads = _closure(flow.reads, functions) & bound
            reads = {n for n in reads - student if not IPYTHON_NAMES.match(n)}
            if reads:
                plan.reads[gid] = sorted(reads)
                plan.keeps[gid] = sorted(reads - flow.ever)
                for name in reads:
                    needed.setdefault(binders[name], set()).add(name)
        for name in flow.bound:
            binders[name] = gid
            functions.pop(name, None)
        functions.update(flow.functions)
        bound |= flow.bound
    plan.binds = {gid: sorted(names) for gid, names in needed.items()}
    plan.modules = sorted(modules)
    return plan


def _closure(reads: set[str], functions: dict[str, set[str]]) -> set[str]:
    """``reads``, and what the earlier locked cells' functions among them read, and so on."""
    out, todo = set(reads), list(reads)
    while todo:
        for name in functions.get(todo.pop(), ()):
            if name not in out:
                out.add(name)
                todo.append(name)
    return out


class Flow:
    """What a block of module-level code reads before binding it, and what it binds, in the order it runs.

    ``reads``: names loaded while not yet bound by the block (what functions, lambdas, classes and
    comprehensions read counts where they are defined, unless bound before); ``bound``: names surely bound at
    the end (a name bound in one branch of an ``if`` only, or in a loop's body, is not); ``ever``: every name the
    block may bind (names declared ``global`` in its functions and names it spells out in strings included:
    ``globals()[name] = ...``); ``functions``: function or class name -> the global names its body reads;
    ``modules``: every module an import names (``import a.b`` -> ``a.b``; ``from a import b`` -> ``a``, ``a.b``).
    """

    def __init__(self) -> None:
        self.reads: set[str] = set()
        self.bound: set[str] = set()
        self.ever: set[str] = set()
        self.declared_global: set[str] = set()
        self.functions: dict[str, set[str]] = {}
        self.modules: set[str] = set()

    def run(self, tree: ast.Module) -> Flow:
        for node in ast.walk(tree):
            if isinstance(node, ast.Global):
                self.declared_global.update(node.names)
            elif isinstance(node, ast.Constant) and isinstance(node.value, str) and node.value.isidentifier():
                self.ever.add(node.value)
        self.ever |= self.declared_global
        self.block(tree.body)
        return self

    # statements, in order

    def block(self, body: list[ast.stmt]) -> None:
        for stmt in body:
            self.stmt(stmt)

    def stmt(self, node: ast.stmt) -> None:  # one branch per kind of statement
        if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef)):
            self._imports(node)
            heads = [*node.decorator_list]
            if isinstance(node, ast.ClassDef):
                heads += [*node.bases, *(k.value for k in node.keywords)]
                reads = _class_reads(node)
            else:
                heads += _defaults(node.args)
                reads = _function_reads(node)
            for expr in heads:
                self.expr(expr)
            self._deferred(reads)
            self.bind(node.name)
            self.functions[node.name] = reads
        elif isinstance(node, ast.Assign):
            self.expr(node.value)
            for target in node.targets:
                self.target(target)
        elif isinstance(node, ast.AugAssign):
            if isinstance(node.target, ast.Name):
                self.load(node.target.id)
            self.expr(node.value)
            self.target(node.target)
        elif isinstance(node, ast.AnnAssign):
            if node.value is not None:
                self.expr(node.value)
                self.target(node.target)
        elif isinstance(node, (ast.For, ast.AsyncFor)):
            self.expr(node.iter)
            self._branches([[ast.Assign([node.target], ast.Constant(None)), *node.body], []])
            self.block(node.orelse)
        elif isinstance(node, ast.While):
            self.expr(node.test)
            self._branches([node.body, []])
            self.block(node.orelse)
        elif isinstance(node, ast.If):
            self.expr(node.test)
            self._branches([node.body, node.orelse])
        elif isinstance(node, (ast.With, ast.AsyncWith)):
            for item in node.items:
                self.expr(item.context_expr)
                if item.optional_vars is not None:
                    self.target(item.optional_vars)
            self.block(node.body)
        elif isinstance(node, (ast.Try, ast.TryStar)):  # TryStar: Python >= 3.11, as required
            self.block(node.body)
            handlers = []
            for handler in node.handlers:
                if handler.type is not None:
                    self.expr(handler.type)
                named = [ast.Assign([ast.Name(handler.name, ast.Store())], ast.Constant(None))] if handler.name else []
                handlers.append(named + handler.body)
            self._branches(handlers + [node.orelse])
            self.block(node.finalbody)
        elif isinstance(node, (ast.Import, ast.ImportFrom)):
            self._imports(node)
            for alias in node.names:
                if alias.name != "*":
                    self.bind(alias.asname or alias.name.split(".")[0])
        elif isinstance(node, ast.Delete):
            for target in node.targets:
                if not isinstance(target, ast.Name):
                    self.expr(target)
        elif isinstance(node, (ast.Global, ast.Nonlocal)):
            pass
        else:  # Expr, Return, Raise, Assert, Match ...: what they load, in order
            for child in ast.iter_child_nodes(node):
                if isinstance(child, ast.expr):
                    self.expr(child)
                elif isinstance(child, ast.stmt):
                    self.stmt(child)
                elif hasattr(ast, "match_case") and isinstance(child, ast.match_case):
                    self._branches([child.body, []])

    def _branches(self, branches: list[list[ast.stmt]]) -> None:
        """Alternatives: a name is surely bound after them only if every one binds it (reads are those of any)."""
        start, after = set(self.bound), None
        for body in branches:
            self.bound = set(start)
            self.block(body)
            after = set(self.bound) if after is None else after & self.bound
        self.bound = after if after is not None else start

    def _imports(self, node: ast.AST) -> None:
        for sub in ast.walk(node):
            if isinstance(sub, ast.Import):
                self.modules.update(alias.name for alias in sub.names)
            elif isinstance(sub, ast.ImportFrom) and sub.module and not sub.level:
                self.modules.add(sub.module)
                self.modules.update(f"{sub.module}.{alias.name}" for alias in sub.names if alias.name != "*")

    def _deferred(self, reads: set[str]) -> None:
        self.reads |= reads - self.bound

    def load(self, name: str) -> None:
        if name not in self.bound:
            self.reads.add(name)

    def bind(self, name: str) -> None:
        self.bound.add(name)
        self.ever.add(name)

    # expressions

    def target(self, node: ast.expr) -> None:
        if isinstance(node, ast.Name):
            self.bind(node.id)
        elif isinstance(node, (ast.Tuple, ast.List)):
            for elt in node.elts:
                self.target(elt)
        elif isinstance(node, ast.Starred):
            self.target(node.value)
        else:  # x.attr = ..., x[i] = ...: loads x (and i)
            for child in ast.iter_child_nodes(node):
                if isinstance(child, ast.expr):
                    self.expr(child)

    def expr(self, node: ast.expr) -> None:
        if isinstance(node, ast.Name):
            if isinstance(node.ctx, ast.Load):
                self.load(node.id)
            else:
                self.bind(node.id)
            return
        if isinstance(node, ast.NamedExpr):
            self.expr(node.value)
            self.bind(node.target.id)
            return
        if isinstance(node, ast.Lambda):
            for expr in _defaults(node.args):
                self.expr(expr)
            self._deferred(_function_reads(node))
            return
        if isinstance(node, (ast.ListComp, ast.SetComp, ast.GeneratorExp, ast.DictComp)):
            self.expr(node.generators[0].iter)
            self._deferred(_comprehension_reads(node))
            for name in _walrus_targets(node):
                self.bind(name)
            return
        for child in ast.iter_child_nodes(node):
            if isinstance(child, ast.expr):
                self.expr(child)
            elif isinstance(child, ast.keyword):
                self.expr(child.value)


def _defaults(args: ast.arguments) -> list[ast.expr]:
    return [*args.defaults, *(d for d in args.kw_defaults if d is not None)]


def _params(args: ast.arguments) -> set[str]:
    names = [a.arg for a in (*args.posonlyargs, *args.args, *args.kwonlyargs)]
    names += [a.arg for a in (args.vararg, args.kwarg) if a is not None]
    return set(names)


def _scope(body: Sequence[ast.AST]) -> tuple[set[str], set[str], set[str], list[Scope]]:
    """(names loaded, names bound, names declared global, nested scopes) of one function's or class's own body."""
    loads: set[str]
    nested: list[Scope]
    loads, stores, globals_, nested = set(), set(), set(), []
    todo = list(body)
    while todo:
        node = todo.pop()
        if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef)):
            stores.add(node.name)
            todo.extend(node.decorator_list)
            if isinstance(node, ast.ClassDef):
                todo.extend([*node.bases, *(k.value for k in node.keywords)])
            else:
                todo.extend(_defaults(node.args))
            nested.append(node)
            continue
        if isinstance(node, ast.Lambda):
            todo.extend(_defaults(node.args))
            nested.append(node)
            continue
        if isinstance(node, (ast.ListComp, ast.SetComp, ast.GeneratorExp, ast.DictComp)):
            todo.append(node.generators[0].iter)
            nested.append(node)
            stores.update(_walrus_targets(node))
            continue
        if isinstance(node, ast.Name):
            (loads if isinstance(node.ctx, ast.Load) else stores).add(node.id)
        elif isinstance(node, (ast.Import, ast.ImportFrom)):
            stores.update(a.asname or a.name.split(".")[0] for a in node.names if a.name != "*")
        elif isinstance(node, ast.ExceptHandler) and node.name:
            stores.add(node.name)
        elif isinstance(node, ast.Global):
            globals_.update(node.names)
        elif isinstance(node, ast.Nonlocal):
            stores.update(node.names)  # not global: the enclosing function's
        todo.extend(ast.iter_child_nodes(node))
    return loads, stores, globals_, nested


def _function_reads(node: Function) -> set[str]:
    """The global names a function (or lambda) reads, its nested functions' included."""
    body = node.body if isinstance(node.body, list) else [node.body]
    loads, stores, globals_, nested = _scope(body)
    local = (_params(node.args) | stores) - globals_
    reads = loads - local
    for inner in nested:
        reads |= _nested_reads(inner) - local
    return reads


def _nested_reads(node: Scope) -> set[str]:
    if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef, ast.Lambda)):
        return _function_reads(node)
    if isinstance(node, ast.ClassDef):
        return _class_reads(node)
    return _comprehension_reads(node)


def _class_reads(node: ast.ClassDef) -> set[str]:
    """The global names a class body reads (its methods' included; a method does not see the class's names)."""
    loads, stores, globals_, nested = _scope(node.body)
    reads = loads - (stores - globals_)
    for inner in nested:
        reads |= _nested_reads(inner)
    return reads


def _comprehension_reads(node: Comprehension) -> set[str]:
    """Names a comprehension reads from outside it (its first iterable, read where it stands, aside)."""
    targets: set[str] = set()
    parts: list[ast.AST] = []
    for i, gen in enumerate(node.generators):
        targets |= {n.id for n in ast.walk(gen.target) if isinstance(n, ast.Name)}
        parts += ([] if i == 0 else [gen.iter]) + list(gen.ifs)
    parts += [node.key, node.value] if isinstance(node, ast.DictComp) else [node.elt]
    loads, stores, globals_, nested = _scope(parts)
    reads = loads - targets
    for inner in nested:
        reads |= _nested_reads(inner) - targets
    return reads


def _walrus_targets(node: ast.AST) -> set[str]:
    return {n.target.id for n in ast.walk(node) if isinstance(n, ast.NamedExpr)}
