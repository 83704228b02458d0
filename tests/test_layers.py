"""The layers point one way: procbox (process containment) imports neither course nor grader; course never
imports grader."""

import ast
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
FORBIDDEN = {"procbox": {"course", "grader"}, "course": {"grader"}}


def imported_packages(path: Path) -> set[str]:
    found = set()
    for node in ast.walk(ast.parse(path.read_text(), str(path))):
        if isinstance(node, ast.Import):
            found.update(alias.name.split(".")[0] for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
            found.add(node.module.split(".")[0])
    return found


@pytest.mark.parametrize("package", sorted(FORBIDDEN))
def test_a_layer_imports_nothing_above_it(package):
    files = sorted((ROOT / package).rglob("*.py"))
    assert files
    wrong = {str(f.relative_to(ROOT)): sorted(imported_packages(f) & FORBIDDEN[package]) for f in files}
    assert not {k: v for k, v in wrong.items() if v}


def test_the_check_finds_an_upward_import(tmp_path):
    bad = tmp_path / "bad.py"
    bad.write_text("from grader.preprocessors import score_tests\nimport os\n")
    assert imported_packages(bad) == {"grader", "os"}


# -- the house: no circles, no private names across modules ---------------------------------------------------

PACKAGES = ("procbox", "course", "grader")


def product_modules() -> dict[str, Path]:
    """Dotted name -> file, for every module of the product packages."""
    out = {}
    for package in PACKAGES:
        for path in sorted((ROOT / package).rglob("*.py")):
            parts = path.relative_to(ROOT).with_suffix("").parts
            out[".".join(parts[:-1] if parts[-1] == "__init__" else parts)] = path
    return out


def imports_of(name: str, path: Path, modules: dict[str, Path]) -> list[tuple[str, list[str], int]]:
    """(module of ours imported, the names taken from it, line) for every import in the file, wherever it stands
    (an import inside a function is a dependency too)."""
    package = name if path.name == "__init__.py" else name.rpartition(".")[0]
    found = []
    for node in ast.walk(ast.parse(path.read_text(), str(path))):
        if isinstance(node, ast.ImportFrom):
            base = package.split(".")[: len(package.split(".")) - node.level + 1] if node.level else []
            module = ".".join(base + ([node.module] if node.module else []))
            names = [a.name for a in node.names]
            submodules = [f"{module}.{n}" for n in names if f"{module}.{n}" in modules]
            if module in modules:
                found.append((module, [n for n in names if f"{module}.{n}" not in modules], node.lineno))
            found += [(m, [], node.lineno) for m in submodules]
        elif isinstance(node, ast.Import):
            found += [(a.name, [], node.lineno) for a in node.names if a.name in modules]
    return found


def cycles(graph: dict[str, set[str]]) -> list[list[str]]:
    """Every strongly connected set of more than one module (Tarjan), sorted."""
    index, low, stack, on, out, counter = {}, {}, [], set(), [], [0]

    def visit(v):
        index[v] = low[v] = counter[0]
        counter[0] += 1
        stack.append(v)
        on.add(v)
        for w in graph.get(v, ()):
            if w not in index:
                visit(w)
                low[v] = min(low[v], low[w])
            elif w in on:
                low[v] = min(low[v], index[w])
        if low[v] == index[v]:
            group = []
            while True:
                w = stack.pop()
                on.discard(w)
                group.append(w)
                if w == v:
                    break
            if len(group) > 1:
                out.append(sorted(group))

    for v in sorted(graph):
        if v not in index:
            visit(v)
    return sorted(out)


def test_no_module_imports_another_that_imports_it_back():
    modules = product_modules()
    graph = {name: {m for m, _, _ in imports_of(name, path, modules) if m != name} for name, path in modules.items()}
    assert not cycles(graph)


def test_no_private_name_is_taken_from_another_module():
    """(The files of the kernel's audit hook are exempt among themselves: they are never imported but joined into
    one program, :func:`grader.audit.hook_source`; their imports only show linters what the earlier part defines.)"""
    from grader.audit import HOOK_FILES

    modules = product_modules()
    one_program = {name for name, path in modules.items() if path in HOOK_FILES}
    wrong = []
    for name, path in modules.items():
        for module, names, line in imports_of(name, path, modules):
            if name in one_program and module in one_program:
                continue
            wrong += [f"{path.relative_to(ROOT)}:{line}: {module}.{n}" for n in names
                      if n.startswith("_") and not n.startswith("__")]
        aliases = {a.asname or a.name.rpartition(".")[2] for node in ast.walk(ast.parse(path.read_text()))
                   if isinstance(node, (ast.Import, ast.ImportFrom)) for a in node.names}
        for node in ast.walk(ast.parse(path.read_text())):
            if isinstance(node, ast.Attribute) and isinstance(node.value, ast.Name) and node.value.id in aliases \
                    and node.attr.startswith("_") and not node.attr.startswith("__") \
                    and any(m.rpartition(".")[2] == node.value.id for m in modules):
                wrong.append(f"{path.relative_to(ROOT)}:{node.lineno}: {node.value.id}.{node.attr}")
    assert not wrong


def test_the_checks_find_a_circle_and_a_private_name(tmp_path):
    assert cycles({"a": {"b"}, "b": {"c"}, "c": {"a"}, "d": {"a"}}) == [["a", "b", "c"]]
    assert cycles({"a": {"b"}, "b": set()}) == []
    pkg = tmp_path / "pkg"
    pkg.mkdir()
    (pkg / "__init__.py").write_text("")
    (pkg / "one.py").write_text("from .two import _hidden, shown\nfrom . import two\n")
    (pkg / "two.py").write_text("def f():\n    from pkg.one import x\n")
    modules = {"pkg": pkg / "__init__.py", "pkg.one": pkg / "one.py", "pkg.two": pkg / "two.py"}
    found = imports_of("pkg.one", modules["pkg.one"], modules)
    assert ("pkg.two", ["_hidden", "shown"], 1) in found and ("pkg.two", [], 2) in found
    assert imports_of("pkg.two", modules["pkg.two"], modules) == [("pkg.one", ["x"], 2)]


def test_the_tests_mirror_the_source_and_no_test_module_imports_another():
    """tests/procbox, tests/course and tests/grader hold each package's tests; what they share is in tests/support."""
    tests = ROOT / "tests"
    assert {p.name for p in tests.iterdir() if p.is_dir() and p.name not in ("files", "__pycache__")} == \
        {*PACKAGES, "support"}
    modules = {p.stem for p in tests.rglob("test_*.py")}
    wrong = []
    for path in sorted(tests.rglob("*.py")):
        for node in ast.walk(ast.parse(path.read_text(), str(path))):
            names = [a.name for a in node.names] if isinstance(node, ast.Import) else \
                [node.module or ""] if isinstance(node, ast.ImportFrom) else []
            wrong += [f"{path.relative_to(ROOT)}:{node.lineno}: {n}" for n in names if n.split(".")[0] in modules]
    assert not wrong


MAX_LINES, MAX_PARAMS, MAX_STRING_LINES = 500, 10, 40


def too_big(path: Path) -> list[str]:
    """What in ``path`` is over the house's sizes: the module's lines, a function's parameters (``self`` and ``cls``
    not counted), a string literal's lines (code or a template kept in a string; docstrings are prose)."""
    text = path.read_text()
    where = path.relative_to(ROOT) if path.is_relative_to(ROOT) else path
    found = [f"{where}: {len(text.splitlines())} lines"] if len(text.splitlines()) > MAX_LINES else []
    tree = ast.parse(text, str(path))
    docstrings = {id(node.body[0].value) for node in ast.walk(tree)
                  if isinstance(node, (ast.Module, ast.ClassDef, ast.FunctionDef, ast.AsyncFunctionDef))
                  and node.body and isinstance(node.body[0], ast.Expr) and isinstance(node.body[0].value, ast.Constant)}
    for node in ast.walk(tree):
        if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef, ast.Lambda)):
            a = node.args
            params = [*a.posonlyargs, *a.args, *a.kwonlyargs, *filter(None, (a.vararg, a.kwarg))]
            n = len(params) - (1 if params[:1] and params[0].arg in ("self", "cls") else 0)
            if n > MAX_PARAMS:
                found.append(f"{where}:{node.lineno}: {getattr(node, 'name', 'lambda')} takes {n} parameters")
        elif isinstance(node, ast.Constant) and isinstance(node.value, str) and id(node) not in docstrings \
                and node.value.count("\n") >= MAX_STRING_LINES:
            found.append(f"{where}:{node.lineno}: a string of {node.value.count(chr(10)) + 1} lines")
    return found


def test_no_module_function_or_string_is_over_the_house_sizes():
    assert [problem for path in product_modules().values() for problem in too_big(path)] == []


def test_the_size_check_finds_each_kind(tmp_path):
    params = ", ".join(f"p{i}" for i in range(MAX_PARAMS))
    ok = tmp_path / "ok.py"
    ok.write_text(f"def f(self, {params}):\n    '''{chr(10) * MAX_STRING_LINES}'''\n\n"
                  f"S = '''{chr(10) * (MAX_STRING_LINES - 1)}'''\n")
    assert too_big(ok) == []
    big = tmp_path / "big.py"
    big.write_text(f"def f(self, {params}, one_more):\n    return 1\n\nS = '''{chr(10) * MAX_STRING_LINES}'''\n"
                   + "x = 1\n" * MAX_LINES)
    assert [p.split(": ", 1)[1] for p in too_big(big)] == [
        f"{MAX_LINES + 4 + MAX_STRING_LINES} lines", f"f takes {MAX_PARAMS + 1} parameters",
        f"a string of {MAX_STRING_LINES + 1} lines"]
