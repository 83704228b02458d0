"""pyproject.toml and environment.yml describe the same environment; the test run is set up as it says."""

import re
import tomllib
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
# conda-forge names that differ from PyPI's
CONDA_NAMES = {"python-wget": "wget"}


def _split(requirement: str) -> tuple[str, str]:
    name, spec = re.match(r"^\s*([A-Za-z0-9_.\-]+)\s*(.*)$", requirement).groups()
    return name.lower(), spec.replace(" ", "")


def pyproject_requirements() -> dict[str, str]:
    project = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]
    reqs = project["dependencies"] + project["optional-dependencies"]["test"]
    return dict(_split(r) for r in reqs)


def conda_requirements(path: Path = ROOT / "environment.yml") -> dict[str, str]:
    deps, inside = {}, False
    for line in path.read_text().splitlines():
        if line.startswith("dependencies:"):
            inside = True
        elif inside and re.match(r"^ +- ", line) and line.strip() != "- pip:":  # conda's, and pip's below "- pip:"
            name, spec = _split(line.strip()[2:])
            deps[CONDA_NAMES.get(name, name)] = spec
    return deps


def test_environment_yml_matches_pyproject():
    conda = conda_requirements()
    assert conda.pop("python") == ">=" + tomllib.loads((ROOT / "pyproject.toml").read_text())["project"][
        "requires-python"].lstrip(">=")
    conda.pop("pip")
    assert conda == pyproject_requirements()


def test_a_drifted_pin_is_noticed(tmp_path):
    drifted = tmp_path / "environment.yml"
    drifted.write_text((ROOT / "environment.yml").read_text().replace("ipyparallel>=9.0,<10", "ipyparallel>=8"))
    conda = conda_requirements(drifted)
    assert conda["ipyparallel"] == ">=8"
    conda.pop("python"), conda.pop("pip")
    assert conda != pyproject_requirements()


def test_binder_builds_the_same_environment():
    assert conda_requirements(ROOT / "binder" / "environment.yml") == conda_requirements()


def test_the_files_started_first_are_test_files_and_named_once():
    """conftest.LONGEST_FIRST (what pytest-xdist starts first) names test files that exist, each once, and pyproject
    keeps pytest-xdist from putting files in its own order."""
    from conftest import LONGEST_FIRST

    assert len(set(LONGEST_FIRST)) == len(LONGEST_FIRST)
    assert [name for name in LONGEST_FIRST if not (ROOT / name).is_file() or not Path(name).name.startswith("test_")
            ] == []
    assert "--no-loadscope-reorder" in tomllib.loads((ROOT / "pyproject.toml").read_text())[
        "tool"]["pytest"]["ini_options"]["addopts"]


def test_dev_py_writes_the_bytecode_where_the_environment_says_not_to(tmp_path, monkeypatch):
    """``python3 dev.py`` compiles the project's modules before a command, so that the processes the tests start read
    their bytecode instead of compiling them again each (``PYTHONDONTWRITEBYTECODE`` is set on CI images)."""
    import importlib.util
    import sys

    spec = importlib.util.spec_from_file_location("dev", ROOT / "dev.py")
    dev = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(dev)
    monkeypatch.setattr(dev, "PY", Path(sys.executable))
    monkeypatch.setenv("PYTHONDONTWRITEBYTECODE", "1")
    (tmp_path / "pkg").mkdir()
    (tmp_path / "pkg" / "mod.py").write_text("X = 1\n")
    dev.compile_sources(("pkg", "absent"), root=tmp_path)
    assert Path(importlib.util.cache_from_source(str(tmp_path / "pkg" / "mod.py"))).is_file()
    assert {"procbox", "course", "grader"} <= set(dev.SOURCES) and all((ROOT / f).is_dir() for f in dev.SOURCES)
