"""course.startup: the project's commands and the pytest plugin start without jsonschema's slow format checker."""

import subprocess
import sys

import pytest

# Runs in a new process: the test's own process imported jsonschema long ago.
PROBE = """
import importlib.util, sys
installed = importlib.util.find_spec("rfc3987_syntax") is not None
{start}
import nbformat
nbformat.validate(nbformat.v4.new_notebook())  # jsonschema still validates notebooks
print(installed, type(sys.modules.get("rfc3987_syntax")).__name__)
"""


def probe(start: str) -> tuple[str, str]:
    out = subprocess.run([sys.executable, "-c", PROBE.format(start=start)], capture_output=True, text=True,
                         timeout=120)
    assert out.returncode == 0, out.stderr
    installed, kind = out.stdout.splitlines()[-1].split()  # after what --help printed
    assert installed == "True", "rfc3987-syntax is not installed: nothing here would be slow, and nothing is tested"
    return installed, kind


@pytest.mark.parametrize("command", ["grader", "course"])
def test_a_command_skips_the_slow_checker_before_it_imports_nbformat(command):
    """``grader --help`` and ``course --help`` import every command's module (and so nbformat) before they print."""
    start = (f"from {command} import cli\ntry:\n    cli.main(['--help'])\nexcept SystemExit:\n    pass")
    assert probe(start)[1] == "NoneType"  # None in sys.modules: the import failed, jsonschema went on without it


def test_without_the_skip_jsonschema_loads_the_checker():
    """The probe can tell: a plain ``import nbformat`` loads rfc3987_syntax (the second this module saves)."""
    assert probe("")[1] == "module"


def test_the_pytest_plugin_imports_nbformat_only_to_run_a_notebook():
    """course.pytest_ipp loads in every pytest session of the environment (an entry point): most run no notebook."""
    out = subprocess.run([sys.executable, "-c", "import sys, course.pytest_ipp; print('nbformat' in sys.modules, "
                          "'jsonschema' in sys.modules)"], capture_output=True, text=True, timeout=60)
    assert out.stdout.split() == ["False", "False"], out.stdout + out.stderr
