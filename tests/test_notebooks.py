"""Every tutorial runs headless against the session's cluster and shows what it must show."""

import re
import secrets
import subprocess
import sys
from pathlib import Path

import nbformat
import pytest

from grader.demo import LessonError, execute_notebook

ROOT = Path(__file__).resolve().parents[1]
NOTEBOOKS = sorted((ROOT / "notebooks").glob("*.ipynb"))
EXERCISES = sorted((ROOT / "exercises").glob("*.ipynb"))

# What each lesson must have computed, checked in its own kernel after its last cell.
CHECKS = {
    "01-start-a-cluster": "assert ids == [0, 1, 2, 3], ids",
    "02-use-direct-views": (
        "import os\nassert kernel_pid == os.getpid()\n"
        "assert len(set(engine_pids)) == 4 and kernel_pid not in engine_pids, engine_pids"),
    "03-map-over-engines": (
        "import ipyparallel as ipp\nassert isinstance(lview, ipp.LoadBalancedView)\n"
        "assert list(serial_results) == list(parallel_results) and len(serial_results) > 4"),
    "04-write-parallel-functions": "assert split == [26, 26, 25, 25], split",
    "05-push-and-pull-variables": "assert pulled == payload and pulled is not payload",
    "06-scatter-and-gather-arrays": (
        "import numpy as np\nassert len(a) > 1000 and np.array_equal(a, b)\nassert np.allclose(squared, a * a)"),
    "07-download-ngrams-in-parallel": (
        "from course.data import load_manifest\n"
        "assert counts == {e['file']: e['lines'] for e in load_manifest()}, counts\nassert sorted(files) == sorted(counts)"),
}


def test_there_are_seven_ordered_lessons_and_matching_exercises():
    names = [p.stem for p in NOTEBOOKS]
    assert names == sorted(CHECKS)
    assert [p.stem for p in EXERCISES] == names
    assert all(re.fullmatch(r"\d\d-[a-z0-9-]+", n) for n in names)


@pytest.mark.parametrize("path", NOTEBOOKS + EXERCISES, ids=lambda p: f"{p.parent.name}/{p.name}")
def test_stored_without_outputs(path):
    nb = nbformat.read(path, as_version=4)
    nbformat.validate(nb)
    for cell in nb.cells:
        if cell.cell_type == "code":
            assert cell.outputs == [] and cell.execution_count is None


@pytest.mark.parametrize("path", NOTEBOOKS, ids=lambda p: p.name)
def test_lesson_structure(path):
    nb = nbformat.read(path, as_version=4)
    first = nb.cells[0].source
    assert first.startswith("# ") and "What you'll learn" in first
    navs = [c for c in nb.cells if c.cell_type == "markdown" and c.source.startswith("<!--NAVIGATION-->")]
    assert len(navs) == 2 and nb.cells[1] in navs and nb.cells[-1] in navs
    assert any("Summary" in c.source for c in nb.cells[-3:] if c.cell_type == "markdown")
    exercise = f"../exercises/{path.name}"
    assert any(exercise in c.source for c in nb.cells if c.cell_type == "markdown"), "no pointer to the exercise"


def test_navigation_script_is_idempotent(tmp_path):
    before = {p.name: p.read_bytes() for p in NOTEBOOKS}
    subprocess.run([sys.executable, str(ROOT / "scripts" / "nav.py")], check=True, capture_output=True)
    after = {p.name: p.read_bytes() for p in NOTEBOOKS}
    assert before == after, "notebooks/ navigation is stale: run python scripts/nav.py"


@pytest.mark.cluster
@pytest.mark.timeout(300)
@pytest.mark.parametrize("path", NOTEBOOKS, ids=lambda p: p.name)
def test_lesson_runs_headless_and_shows_what_it_teaches(path, cluster, mirror, tmp_path):
    nb = nbformat.read(path, as_version=4)
    marker = f"lesson checks passed {secrets.token_hex(8)}"
    nb.cells.append(nbformat.v4.new_code_cell(f"{CHECKS[path.stem]}\nprint({marker!r})"))
    nb = execute_notebook(nb, cwd=path.parent, ipython_dir=cluster.ipython_dir, mirror_url=mirror.url,
                          name=path.name)
    assert printed(nb.cells[-1]) == marker + "\n", "the checks appended to the lesson did not run to their end"
    tagged = [c for c in nb.cells if "raises-exception" in c.metadata.get("tags", [])]
    for cell in tagged:
        assert any(o.output_type == "error" for o in cell.outputs), f"tagged cell did not raise:\n{cell.source}"
    cluster.verify()  # the lesson left the shared cluster healthy for the next one


def printed(cell) -> str:
    return "".join(o.text for o in cell.get("outputs", []) if o.output_type == "stream" and o.name == "stdout")


@pytest.mark.timeout(120)
def test_a_lesson_whose_kernel_dies_fails(tmp_path):
    nb = nbformat.v4.new_notebook(cells=[nbformat.v4.new_code_cell("x = 1"),
                                         nbformat.v4.new_code_cell("import os; os._exit(1)"),
                                         nbformat.v4.new_code_cell("print('after the crash')")])
    with pytest.raises(LessonError, match=r"^99-dies\.ipynb did not run to its end: the kernel died while running "
                                          r"cell 1 "):
        execute_notebook(nb, cwd=tmp_path, ipython_dir=tmp_path / "ipython", mirror_url="http://127.0.0.1:9",
                         timeout=60, name="99-dies.ipynb")
    assert printed(nb.cells[2]) == ""
