"""The pytest plugin for notebooks that use ipyparallel (course.pytest_ipp), run as a user runs it: ``pytest
--ipp-notebooks PATH...`` in a folder of their own, with and without pytest-xdist."""

import os
import secrets
import subprocess
import sys
from pathlib import Path

import nbformat
import psutil
import pytest
from nbformat.v4 import new_code_cell, new_markdown_cell, new_notebook

pytestmark = pytest.mark.timeout(600)


def notebook(path: Path, *sources: str) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    cells = [new_markdown_cell("# a notebook")] + [new_code_cell(s) for s in sources]
    nbformat.write(new_notebook(cells=cells, metadata={"kernelspec": {"name": "python3", "display_name": "Python 3",
                                                                      "language": "python"}}), path)
    return path


def run_pytest(where: Path, *args: str) -> tuple[subprocess.CompletedProcess, str]:
    """pytest in ``where`` (no configuration of this project's), its processes marked so that leaks show.

    Not with this session's marker and xdist worker name (tests/conftest.py): its own xdist workers are named gw0,
    gw1 too, and this session's other worker would take their processes for leftovers of its own tests."""
    mark = secrets.token_hex(8)
    env = {k: v for k, v in os.environ.items() if k != "COURSE_TEST_RUN" and not k.startswith("PYTEST_XDIST")}
    env["IPP_PLUGIN_TEST_MARK"] = mark
    out = subprocess.run([sys.executable, "-m", "pytest", "-p", "no:cacheprovider", "-q", *args], cwd=where,
                         env=env, capture_output=True, text=True, timeout=540)
    return out, mark


def left_running(mark: str) -> list[str]:
    left = []
    for proc in psutil.process_iter():
        try:
            if proc.environ().get("IPP_PLUGIN_TEST_MARK") == mark and proc.status() != psutil.STATUS_ZOMBIE:
                left.append(" ".join(proc.cmdline())[:120])
        except psutil.Error:
            continue
    return left


def test_each_notebook_runs_on_a_fresh_cluster_and_a_failing_cell_is_reported_with_the_engines_traceback(tmp_path):
    folder = tmp_path / "nbs"
    notebook(folder / "good.ipynb",
             "import ipyparallel as ipp\nrc = ipp.Client()\nrc.wait_for_engines(2, timeout=30)",
             "assert rc.ids == [0, 1], rc.ids\nrc[:].push({'x': 1})",
             "import subprocess, sys\n# a process the notebook leaves behind: the plugin stops it\n"
             "subprocess.Popen([sys.executable, '-c', 'import time; time.sleep(300)'], start_new_session=True)")
    notebook(folder / "sub" / "fresh.ipynb",  # a fresh cluster: nothing pushed by the other notebook is there
             "import ipyparallel as ipp\nrc = ipp.Client()\nrc.wait_for_engines(2, timeout=30)",
             "assert rc[:].apply_sync(lambda: 'x' in globals()) == [False, False]")
    notebook(folder / "bad.ipynb",
             "import ipyparallel as ipp\nrc = ipp.Client()\nrc.wait_for_engines(2, timeout=30)",
             "def divide(d):\n    return 1 / d\n\nrc[1].apply_sync(divide, 0)",
             "print('never runs')")
    out, mark = run_pytest(tmp_path, "--ipp-notebooks", "--ipp-engines", "2", "--ipp-timeout", "120", "nbs")
    assert out.returncode == 1, out.stdout + out.stderr
    assert "1 failed, 2 passed" in out.stdout, out.stdout
    report = out.stdout.split("bad.ipynb: cell 2 failed", 1)[1]
    assert "   4 | rc[1].apply_sync(divide, 0)" in report  # the cell's lines, numbered
    assert "ZeroDivisionError" in report and "return 1 / d" in report  # the engine's traceback
    assert "never runs" not in out.stdout
    assert left_running(mark) == []


def test_it_works_under_xdist_each_notebook_with_its_own_cluster(tmp_path):
    for name in ("a", "b", "c"):
        notebook(tmp_path / "nbs" / f"{name}.ipynb",
                 "import os, ipyparallel as ipp\nrc = ipp.Client()\nrc.wait_for_engines(1, timeout=30)",
                 "assert len(rc.ids) == 1\nassert os.environ['IPYTHONDIR'] != os.path.expanduser('~/.ipython')")
    out, mark = run_pytest(tmp_path, "--ipp-notebooks", "--ipp-engines", "1", "-n", "2", "nbs")
    assert out.returncode == 0 and "3 passed" in out.stdout, out.stdout + out.stderr
    assert left_running(mark) == []


def test_without_the_flag_notebooks_are_not_collected(tmp_path):
    notebook(tmp_path / "nbs" / "a.ipynb", "raise SystemExit('should not run')")
    out, _ = run_pytest(tmp_path, "nbs")
    assert out.returncode == 5, out.stdout  # pytest's "no tests collected"


EXAMPLES = Path(__file__).resolve().parents[1] / "files" / "ipp-examples"


def test_ipyparallels_own_examples_run_each_on_its_cluster_and_those_that_fail_fail_as_listed(tmp_path):
    """Notebooks nobody here wrote (tests/files/ipp-examples/README.md says which, from where, and why one fails)."""
    import shutil

    shutil.copytree(EXAMPLES, tmp_path / "examples")
    out, mark = run_pytest(tmp_path, "--ipp-notebooks", "--ipp-timeout", "120", "-n", "2", "-rA", "examples")
    summary = out.stdout
    assert "PASSED examples/Parallel-Decorator-and-map.ipynb" in summary, summary
    assert "FAILED examples/Futures.ipynb" in summary, summary
    assert "Futures.ipynb: cell 25 failed" in summary and "No module named 'distributed'" in summary
    assert "FAILED examples/Parallel-Magics.ipynb" in summary, summary
    assert "Parallel-Magics.ipynb: cell 57 failed" in summary and 'RuntimeError: rank 0 failed!' in summary
    assert out.returncode == 1 and "2 failed, 1 passed" in summary, summary
    assert left_running(mark) == []


LESSONS = Path(__file__).resolve().parents[2] / "notebooks"


def test_the_course_lessons_run_with_the_plugin_each_on_its_own_cluster(tmp_path):
    """The lessons that need neither the n-gram mirror (07) nor MPI (21) nor minutes of waiting, run as a user of the
    plugin would run them (tests/course/test_notebooks.py runs every lesson on one shared cluster, with checks)."""
    chosen = [LESSONS / f"{name}.ipynb" for name in ("01-start-a-cluster", "02-use-direct-views",
                                                      "04-write-parallel-functions", "05-push-and-pull-variables",
                                                      "06-scatter-and-gather-arrays")]
    out, mark = run_pytest(tmp_path, "--ipp-notebooks", "-n", "2", *map(str, chosen))
    assert out.returncode == 0 and f"{len(chosen)} passed" in out.stdout, out.stdout + out.stderr
    assert left_running(mark) == []
