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


@pytest.mark.parametrize("sandbox", ["auto", "off"])  # sealed boxes (where the machine allows) and plain processes
def test_each_notebook_runs_on_a_fresh_cluster_and_a_failing_cell_is_reported_with_the_engines_traceback(tmp_path,
                                                                                                       sandbox):
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
    out, mark = run_pytest(tmp_path, "--ipp-notebooks", "--ipp-engines", "2", "--ipp-timeout", "120",
                           "--ipp-sandbox", sandbox, "nbs")
    assert out.returncode == 1, out.stdout + out.stderr
    assert "1 failed, 2 passed" in out.stdout, out.stdout
    report = out.stdout.split("bad.ipynb: cell 2 failed", 1)[1]
    assert "   4 | rc[1].apply_sync(divide, 0)" in report  # the cell's lines, numbered
    assert "ZeroDivisionError" in report and "return 1 / d" in report  # the engine's traceback
    assert "never runs" not in out.stdout
    assert left_running(mark) == [] and not session_processes()


def test_it_works_under_xdist_each_notebook_with_its_own_cluster(tmp_path):
    for name in ("a", "b", "c"):
        notebook(tmp_path / "nbs" / f"{name}.ipynb",
                 "import os, ipyparallel as ipp\nrc = ipp.Client()\nrc.wait_for_engines(1, timeout=30)",
                 "assert len(rc.ids) == 1\nassert os.environ['IPYTHONDIR'] != os.path.expanduser('~/.ipython')")
    out, mark = run_pytest(tmp_path, "--ipp-notebooks", "--ipp-engines", "1", "-n", "2", "nbs")
    assert out.returncode == 0 and "3 passed" in out.stdout, out.stdout + out.stderr
    assert left_running(mark) == [] and not session_processes()


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
    assert left_running(mark) == [] and not session_processes()


LESSONS = Path(__file__).resolve().parents[2] / "notebooks"


def test_the_course_lessons_run_with_the_plugin_each_on_its_own_cluster(tmp_path):
    """Two lessons (the first, and one that moves arrays), run as a user of the plugin would run them, side by side
    (tests/course/test_notebooks.py runs every lesson, with checks, and what the plugin does with a notebook is
    tried on notebooks of every kind above: two lessons show it runs the course's own)."""
    chosen = [LESSONS / f"{name}.ipynb" for name in ("01-start-a-cluster", "06-scatter-and-gather-arrays")]
    out, mark = run_pytest(tmp_path, "--ipp-notebooks", "-n", "2", *map(str, chosen))
    assert out.returncode == 0 and f"{len(chosen)} passed" in out.stdout, out.stdout + out.stderr
    assert left_running(mark) == [] and not session_processes()


def sealed_here() -> bool:
    from procbox.policy import BoxPolicy

    return BoxPolicy().active


@pytest.mark.parametrize("sandbox", ["auto", "off"])
def test_a_sealed_notebook_sees_only_its_folders_copy_and_reaches_nothing_of_the_host(tmp_path, sandbox):
    """Where the machine allows it (CI: root on Linux), each notebook runs in a sealed box: its kernel and engines
    work in a copy of its folder (they read the files beside it; what they write stays in the box), see no other
    file of the host's and reach no listener of the host's.  With --ipp-sandbox off, the same notebook sees all
    three, which is what tells the two apart."""
    import socket

    sealed = sandbox == "auto"
    if sealed and not sealed_here():
        pytest.skip("this machine cannot seal a notebook (needs Linux with namespaces, as root)")
    secret = tmp_path / "secret.txt"  # beside the notebook's folder, not in it
    secret.write_text("the host's")
    folder = tmp_path / "nbs"
    (folder / "data").mkdir(parents=True)
    (folder / "data" / "numbers.txt").write_text("1 2 3 4")
    with socket.create_server(("127.0.0.1", 0)) as listener:
        port = listener.getsockname()[1]
        notebook(folder / "probe.ipynb",
                 "import os, socket\nimport ipyparallel as ipp\nrc = ipp.Client()\nrc.wait_for_engines(2, timeout=60)",
                 "def total():\n    return sum(map(int, open('data/numbers.txt').read().split()))\n\n"
                 "assert rc[:].apply_sync(total) == [10, 10]  # the engines read the files beside the notebook",
                 "open('written.txt', 'w').write('by the notebook')\n"
                 "assert rc[:].apply_sync(os.path.exists, 'written.txt') == [True, True]  # one working directory",
                 f"assert os.path.exists({str(secret)!r}) is {not sealed}",
                 f"try:\n    socket.create_connection(('127.0.0.1', {port}), timeout=5).close()\n    reached = True\n"
                 f"except OSError:\n    reached = False\nassert reached is {not sealed}")
        out, mark = run_pytest(tmp_path, "--ipp-notebooks", "--ipp-engines", "2", "--ipp-sandbox", sandbox, "-v", "-rA",
                               "nbs")
    assert out.returncode == 0 and "PASSED nbs/probe.ipynb" in out.stdout, out.stdout + out.stderr
    header = "ipp-notebooks: each notebook in a sealed box" if sealed else "ipp-notebooks: plain processes"
    assert header in out.stdout, out.stdout
    assert (folder / "written.txt").exists() is not sealed  # nothing the sealed notebook wrote reached its folder
    assert left_running(mark) == [] and not session_processes()


def session_processes() -> list[str]:
    """Processes of the plugin's sealed sessions (their HOME is in a session's run directory) still running."""
    from procbox.session import PREFIX

    found = []
    for proc in psutil.process_iter():
        try:
            if PREFIX in proc.environ().get("HOME", "") and proc.status() != psutil.STATUS_ZOMBIE:
                found.append(" ".join(proc.cmdline())[:120])
        except psutil.Error:
            continue
    return found


def test_sandbox_on_fails_a_notebook_where_the_machine_cannot_seal_it(tmp_path):
    """``--ipp-sandbox on`` on a machine that cannot seal (here: its probe told it is switched off, as a
    non-Linux machine or one without namespaces would say) fails the notebook, saying why."""
    notebook(tmp_path / "nbs" / "any.ipynb", "print('never runs')")
    conftest = "from procbox import policy\npolicy._probe = lambda: ('off', 'no namespaces on this machine')\n"
    (tmp_path / "conftest.py").write_text(conftest)
    out, mark = run_pytest(tmp_path, "--ipp-notebooks", "--ipp-sandbox", "on", "nbs")
    assert out.returncode == 1, out.stdout + out.stderr
    assert "--ipp-sandbox on, but this machine cannot seal a notebook: no namespaces on this machine" in out.stdout
    assert "never runs" not in out.stdout
