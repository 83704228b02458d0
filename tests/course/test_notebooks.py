"""Every tutorial runs headless against the session's cluster and shows what it must show."""

import re
import secrets
import subprocess
import sys
from pathlib import Path

import nbformat
import pytest

from grader.lessons import LessonError, execute_notebook

ROOT = Path(__file__).resolve().parents[2]
NOTEBOOKS = sorted((ROOT / "notebooks").glob("*.ipynb"))
EXERCISES = sorted((ROOT / "exercises").glob("*.ipynb"))
IPP_EXAMPLES = sorted((ROOT / "tests" / "files" / "ipp-examples").glob("*.ipynb"))  # ipyparallel's, run by the plugin

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
        "assert counts == {e['file']: e['lines'] for e in load_manifest()}, counts\n"
        "assert sorted(files) == sorted(counts)"),
    "09-engine-output-and-errors": (
        "import ipyparallel as ipp\n"
        "assert sorted(failed_engines) == [1, 3], failed_engines\n"
        "assert bad_inputs == [0], bad_inputs\n"
        'assert isinstance(error, ipp.RemoteError) and error.ename == "ZeroDivisionError" and '
        'error.engine_info["engine_id"] == 1\n'
        "assert isinstance(composite, ipp.CompositeError) and len(composite.elist) == 2\n"
        "assert len(dresults) == len(inputs) - 1\n"
        "assert isinstance(first_error, ipp.CompositeError) and len(first_error.elist) == 1 and "
        'first_error.elist[0][0] == "ZeroDivisionError"\n'
        "assert sum(isinstance(r, ipp.RemoteError) for r in nap_results) == 3\n"
        'assert dview.apply_sync(leftovers, ["engine_number"]) == [[]] * 4 and "engine_number" not in globals()'),
    "19-threads-and-oversubscription": (
        "import os\n"
        "from course.cpus import usable_cpus\n"
        "assert cores == usable_cpus() and 1 <= cores <= len(os.sched_getaffinity(0)), cores\n"
        "assert quota == 1.5 and in_container == min(2, len(os.sched_getaffinity(0))), (quota, in_container)\n"
        "assert len(engine_blas) == 4 and all(n >= 1 for n in engine_blas), engine_blas\n"
        "assert limited_blas == [1, 1, 1, 1], limited_blas\n"
        "assert set(timings) == set(thread_counts) and 1 in timings and all(len(v) == 3 and min(v) > 0 for v "
        "in timings.values()), timings\n"
        'assert fresh_blas == [1, 1] and fresh_env == ["1", "1"], (fresh_blas, fresh_env)\n'
        'assert dview.apply_sync(blas_threads_here) == engine_blas, "the lesson should leave the engines\' '
        'BLAS pools as it found them"\n'
        'assert dview.apply_sync(env_of, "OPENBLAS_NUM_THREADS") == [None] * 4\n'
        "assert threads_per_engine(16, 4) == 4 and threads_per_engine(2, 4) == 1"),
    "21-beyond-one-machine": (
        "assert sorted(ranks) == [0, 1, 2, 3] and ranks == mrc.ids, (ranks, mrc.ids)\n"
        "assert mpi_squares == local_squares == [x * x for x in range(10)]\n"
        "assert len({pid for pid, _ in mpi_where}) == 4 and not {p for p, _ in mpi_where} & {p for p, _ in "
        "local_where}\n"
        "assert len(set(mpi_totals)) == 1 and abs(mpi_totals[0] - pulled_total) < 1e-6 * pulled_total\n"
        'assert set(timings) == {"MPI allreduce", "pull + sum + push"} and all(t > 0 for t in timings.values())\n'
        "assert cluster.controller is None and not cluster.engines and not left\n"
        "assert sorted(rc.ids) == [0, 1, 2, 3]  # the shared cluster is untouched"),
    "11-what-travels-to-engines": (
        "import pickle as _pickle, types as _types\n"
        "import ipyparallel as _ipp\n"
        'assert _ipp.serialize.serialize.pickle is _pickle, "the lesson must restore the default serializer"\n'
        "assert _ipp.serialize.canning.can_map[_types.FunctionType] is _ipp.serialize.canning.CannedFunction\n"
        'assert rc[:].apply_sync(lambda: __import__("ipyparallel").serialize.serialize.pickle.__name__) == '
        '["pickle"] * 4\n'
        "assert dview.apply_sync(leftovers, lesson_names) == [[]] * 4\n"
        "assert len(t_send) == len(t_ref) == len(sizes_mb) == 4\n"
        "assert scaled(1) == 200\n"
        "assert ar_safe.get() == 2_000_000.0 and ar_tracked.sent"),
    "13-run-cells-on-engines": (
        "import os\n"
        "assert ranks == [0, 1, 2, 3], ranks\n"
        "assert kernel_pid == os.getpid() and len(set(engine_pids)) == 4 and kernel_pid not in engine_pids, "
        "engine_pids\n"
        "assert tasks_per_px == 4, tasks_per_px\n"
        "assert evens == [True, False, True, False], evens\n"
        "assert r is None and len(px_magics.last_result.execute_result) == 4\n"
        "assert naps.ready() and sorted(spans) == [0, 1, 2, 3]\n"
        'assert px_view.targets == "all" and px_view.block\n'
        'assert dview.apply_sync(forget, ["rank", "pid", "square", "half", "os", "time"]) == [[]] * 4'),
    "14-parallel-magics": (
        "import os\n"
        "assert where == kernel_pid == os.getpid() and list(values) == [0, 10, 20], (where, values)\n"
        "assert sorted(odd.targets) == [1, 3] and odd.block and even.block\n"
        "assert grid[0] == [True, True, False, False] and all(row == [True] * 4 for row in grid[1:]), grid\n"
        'assert [labels[(f"engine {i}", "side")] for i in rc.ids] == ["even", "odd", "even", "odd"], labels\n'
        'assert sorted(failures) == [(2, "ZeroDivisionError")], failures\n'
        'assert px_view.targets == "all"\n'
        'assert dview.apply_sync(forget, ["rank", "where", "values", "cube", "side", "step"]) == [[]] * 4\n'
        'assert caught == {"2": "RemoteError", "[2]": "CompositeError"}, caught\n'
        'assert isinstance(streamed, ipp.RemoteError) and not hasattr(streamed, "elist") and '
        "len(streamed.original_error.elist) == 1"),
    "15-iterate-over-results": (
        'assert [name for name, _ in any_order] == ["B", "D", "E", "A", "C", "F"], any_order\n'
        "assert [name for name, _ in in_order] == names and ar_in_order.get() == names\n"
        "assert any_order[0][1] < in_order[0][1] / 2, (any_order, in_order)  # B (0.2 s) arrived well before "
        "A (0.8 s)\n"
        'assert len(taken) == 8 and results == list("abcdefgh")\n'
        "assert squares[:9] == [n * n for n in range(9)] and squares == [n * n for n in range(len(squares))]\n"
        'assert sorted(f.result() for f in done) == ["quick"] and all(f.done() for f in futures)\n'
        "assert rc.outstanding == set() and len(rc.history) == 0"),
    "16-results-as-they-arrive": (
        'assert aborted_map[:4] == ["run1", "run2", "run3", "run4"] and all(isinstance(r, '
        "ipp.error.TaskAborted) for r in aborted_map[4:])\n"
        'assert list(trap)[:4] == ["t1", "t2", "t3", "t4"] and not trap.ready()\n'
        'assert quiz_results[:6] == list("abcdef") and isinstance(quiz_results[6], ipp.error.TaskAborted), '
        "quiz_results\n"
        "assert rc.outstanding == set() and len(rc.history) == 0\n"
        "assert dview.apply_sync(ran_on_this_engine) == [[]] * 4\n"
        "assert px_back < 15, px_back  # Ctrl-C during %px: interrupted through the nannies, not a 30 s nap"),
    "20-engines-that-own-a-gpu": (
        "import os\n"
        "assert kernel_devices_after == [0, 1, 2, 3], kernel_devices_after\n"
        'assert fresh == {"2": [2], "1,0": [1, 0], "": []}, fresh\n'
        "assert default_devices == [0, 0, 0, 0] and late == [0, 0, 0, 0], (default_devices, late)\n"
        "assert owned_4 == [[0], [1], [2], [3]] and owned_slurm == [[3], [2], [1], [0]], (owned_4, owned_slurm)\n"
        "assert gpu_ids == [0, 1] and cpu_ids == [2, 3], (gpu_ids, cpu_ids)\n"
        "assert {(e, g) for e, g, _ in gpu_runs} <= {(0, 0), (1, 1)} and [r for _, _, r in gpu_runs] == "
        "[x * x for x in range(10)], gpu_runs\n"
        "assert {e for e, _, _ in cpu_runs} <= {2, 3} and {e for e, _, _ in depend_runs} <= {0, 1}, (cpu_runs, "
        "depend_runs)\n"
        "assert [r for _, _, r in depend_runs] == [x * x for x in range(6)], depend_runs\n"
        "assert not any(engine_blas.values()) or ({i: limited_blas[i] for i in gpu_ids} == dict.fromkeys(gpu_ids, "
        "per_gpu_engine) and {i: limited_blas[i] for i in cpu_ids} == dict.fromkeys(cpu_ids, 1)), limited_blas\n"
        'assert dview.apply_async(blas_threads_here).get_dict() == engine_blas, "the lesson should leave the '
        'engines\' BLAS pools as it found them"\n'
        'assert dview.apply_sync(lambda: [__import__("os").environ.get(n) for n in ("CUDA_VISIBLE_DEVICES", '
        '"SLURM_LOCALID")] + ["course.fakecuda" in __import__("sys").modules]) == [[None, None, False]] * 4\n'
        'assert "CUDA_VISIBLE_DEVICES" not in os.environ'),
    "17-task-graphs": (
        "assert order_problems(ars, graph) == [] and order_problems(one_engine, graph) == []\n"
        "assert {name: ar.get() for name, ar in ars.items()} == {name: name for name in graph}\n"
        "assert one_engine_time >= sum(seconds.values())\n"
        "assert len({ar.metadata['engine_id'] for ar in one_engine.values()}) == 1\n"
        "assert follow_engines == {loaded.metadata['engine_id']}\n"
        'assert impossible == "ImpossibleDependency" and child.metadata["engine_id"] is None\n'
        'assert tidy.get() == "tidy up"\n'
        'assert timed_out == "TaskTimeout" and slow.get() == "slow"\n'
        'assert retried.get() == "attempt 2 worked" and len(attempt_files) == 3 and '
        'len({f.split("-pid-")[1] for f in attempt_files}) == 3, attempt_files\n'
        "assert stopped_early\n"
        'assert sorted(failed.values()) == ["FileNotFoundError", "ImpossibleDependency", "TaskTimeout", "ValueError"], '
        "failed\n"
        'assert reads[1].msg_ids[0] in failed and resubmitted == ["beta"]\n'
        "assert rc.outstanding == set() and not os.path.exists(attempts) and not os.path.exists(folder)\n"
        'assert rc[:].apply_sync(lambda: "table" in globals()) == [False] * 4'),
    "18-watching-and-stopping-work": (
        "import os\n"
        "import ipyparallel as ipp\n"
        "steps = [d.get('step', 0) for d in snapshots]\n"
        "assert steps == sorted(steps) and 0 < steps[-1] <= 8 and len(set(steps)) >= 2, snapshots\n"
        "assert all(d is kept_live[0] for d in kept_live) and kept_live[0]['step'] == 4, kept_live\n"
        "assert [d.get('step', 0) for d in kept_copies] == sorted(d.get('step', 0) for d in kept_copies), kept_copies\n"
        "assert timeline[-1][1] == [10] * 4 and any(0 < sum(s) < 40 for _, s in timeline), timeline\n"
        "assert isinstance(px_result, ipp.AsyncResult) and sorted(px_result.engine_id) == [0, 1, 2, 3]\n"
        "assert len(partial) == 4 and all(p['stopped'] and 3 <= p['steps'] < 1000 for p in partial), partial\n"
        "assert type(got).__name__ == 'AsyncResult' and after_interrupt == 4 and waited > 0, (got, after_interrupt)\n"
        "assert isinstance(engine_error, ipp.RemoteError) and engine_error.ename == 'EngineError'\n"
        "assert survivors == [0] and small.controller is None and not small.engines, survivors\n"
        "assert rc.ids == [0, 1, 2, 3] and rc[:].apply_sync(os.getpid) == engine_pids  # the shared cluster is intact\n"
        "assert rc.outstanding == set()"),
    "08-engine-output": (
        "import os\n"
        "_pids = dict(zip(rc.ids, rc[:].apply_sync(os.getpid)))\n"
        'assert printed == {i: f"hello Ada, this is process {pid}\\n" for i, pid in _pids.items()}, printed\n'
        "assert len(running) == len(naps) and all(r >= s for r, s in zip(running, naps)), (running, naps)\n"
        'assert dview.apply_sync(leftovers, ["answer"]) == [[]] * 4'),
    "10-what-travels-with-a-function": (
        "assert scaled(1) == 200 and add3(1) == 4\n"
        'assert what_travels(scaled)[1] == ["offset", "SCALE"] and what_travels(add3)[1] == []\n'
        "assert dview.apply_sync(leftovers, lesson_names) == [[]] * 4"),
    "12-moving-big-data": (
        'assert set(in_a_list) == {"inside the pickle (bytes)"} and set(as_args) == {"own frame"}, '
        "(in_a_list, as_args)\n"
        "assert sums == [1e6, 2e6, 3e6] and ar.sent, sums\n"
        'assert type(bview).__name__ == "BroadcastView" and bview.targets == [0, 1, 2, 3]\n'
        'assert [m[:2] for m in mapped] == [("memmap", True)] * 4 and '
        "abs(sum(m[2] for m in mapped) - total(data)) < 1e-6 * total(data)\n"
        "assert set(timings) == {'argument, DirectView', 'argument, broadcast view', 'ipp.Reference to a pushed copy', "
        "\"np.load(mmap_mode='r') on the engines\"} and all(len(t) == len(sizes_mb) and min(t) > 0 for t in "
        "timings.values())\n"
        "assert set(fewer) == {1, 4}\n"
        "assert dview.apply_sync(leftovers, lesson_names) == [[]] * 4 and not os.path.exists(shared_dir)"),
    "22-scripts-and-real-clusters": (
        'assert [r[0] for r in script_out["results"]] == [x * x for x in range(8)]\n'
        'assert len(engine_pids) == 2 and script_out["script_pid"] not in engine_pids\n'
        "_engines = {pid for _, pid in run_out['results']}\n"
        "assert import_log[0][0] == '__main__' and len(import_log) == 4, import_log\n"
        "assert {name for name, _ in import_log[1:]} == {'squares'} and "
        "{int(p) for _, p in import_log[1:]} == _engines | {run_out['driver_pid']}, import_log\n"
        "assert reconnected == before and len(before) == 2, (reconnected, before)\n"
        "assert interrupted == 'KeyboardInterrupt'\n"
        "assert not set(after) & set(before) and not set(after.values()) & set(before.values()), (before, after)\n"
        "assert x_after == [False, False]\n"
        "assert len(ports) >= 5 and all(p > 1024 for p in ports.values()), ports\n"
        "assert cluster.controller is None and not cluster.engines and left == [], left\n"
        "assert sorted(rc.ids) == [0, 1, 2, 3]  # the course's cluster is untouched"),
}


# Lessons that end the course with no exercise of their own (they need engines the grader's boxes do not start).
WITHOUT_EXERCISE = {"21-beyond-one-machine"}


def exercise_pointer(lesson: str) -> str | None:
    """Where a lesson sends its reader to practise: its own exercise; for the first part of a lesson split in two,
    the exercise of the next lesson (which covers both parts); the course index for a lesson in WITHOUT_EXERCISE;
    None when a lesson has none of these."""
    names = [p.stem for p in NOTEBOOKS]
    exercises = {p.stem for p in EXERCISES}
    if lesson in WITHOUT_EXERCISE:
        return "../README.md#the-notebooks"
    if lesson in exercises:
        return f"../exercises/{lesson}.ipynb"
    following = names[names.index(lesson) + 1:][:1]
    if following and following[0] in exercises:
        return f"../exercises/{following[0]}.ipynb"
    return None


def test_the_lessons_are_ordered_and_each_has_its_exercise():
    names = [p.stem for p in NOTEBOOKS]
    assert all(re.fullmatch(r"\d\d-[a-z0-9-]+", n) for n in names)
    assert names == sorted(CHECKS)
    lonely = [p.stem for p in EXERCISES if p.stem not in names]
    assert not lonely, f"exercises with no lesson of the same name: {lonely}"
    without = [n for n in names if exercise_pointer(n) is None]
    assert not without, (f"lessons with no exercise of their own, not in WITHOUT_EXERCISE, and not followed by the "
                         f"lesson whose exercise they lead to: {without}")
    assert [int(n[:2]) for n in names] == list(range(1, len(names) + 1))


@pytest.mark.parametrize("path", NOTEBOOKS + EXERCISES + IPP_EXAMPLES, ids=lambda p: f"{p.parent.name}/{p.name}")
def test_stored_without_outputs(path):
    nb = nbformat.read(path, as_version=4)
    nbformat.validate(nb)
    for cell in nb.cells:
        if cell.cell_type == "code":
            assert cell.outputs == [] and cell.execution_count is None


TIME = re.compile(r"^\*\*Time:\*\* about \d+ minutes", re.MULTILINE)  # in the first cell, as the Carpentries give it


def bullets(text: str) -> list[str]:
    return [line for line in text.splitlines() if line.startswith("- ")]


def challenge_problems(nb) -> list[str]:
    """What is missing from the lesson's challenges: at least one markdown cell headed ``### Challenge``, each asking
    to predict before running, followed by a code cell to run, and folding its solution (``<details>``)."""
    cells = nb.cells
    found = [i for i, c in enumerate(cells) if c.cell_type == "markdown" and c.source.startswith("### Challenge")]
    if not found:
        return ["no '### Challenge' cell"]
    problems = []
    for i in found:
        text = cells[i].source
        if "predict" not in text.lower():
            problems.append(f"cell {i}: the challenge does not ask to predict before running")
        if not ("<details>" in text and "<summary>" in text and "</details>" in text):
            problems.append(f"cell {i}: the challenge has no folded solution (<details><summary>...)")
        if i + 1 >= len(cells) or cells[i + 1].cell_type != "code":
            problems.append(f"cell {i}: no code cell to run after the challenge")
    return problems


@pytest.mark.parametrize("path", NOTEBOOKS, ids=lambda p: p.name)
def test_lesson_structure(path):
    """Title and at most four objectives, navigation, a time estimate, key points at the end and a challenge with its
    folded solution (what the Carpentries give every lesson), a pointer to the lesson's exercise (or, for the first
    part of a lesson split in two, to the exercise of the second part), and one sitting's worth of cells."""
    nb = nbformat.read(path, as_version=4)
    assert len(nb.cells) <= 35, f"{len(nb.cells)} cells: a lesson is one sitting (about 32 cells, at most 35)"
    first = nb.cells[0].source
    assert first.startswith("# ") and "What you'll learn" in first
    objectives = bullets(first.split("What you'll learn", 1)[1])
    assert 1 <= len(objectives) <= 4, f"{len(objectives)} objectives: a lesson has at most four"
    assert TIME.search(first), "no '**Time:** about N minutes' line in the first cell"
    navs = [c for c in nb.cells if c.cell_type == "markdown" and c.source.startswith("<!--NAVIGATION-->")]
    assert len(navs) == 2 and nb.cells[1] in navs and nb.cells[-1] in navs
    key = [c for c in nb.cells[-3:] if c.cell_type == "markdown" and c.source.startswith("## Key points")]
    assert key and len(bullets(key[0].source)) >= 2, "no '## Key points' cell of bullets at the end"
    assert challenge_problems(nb) == []
    pointer = exercise_pointer(path.stem)
    assert pointer, "no exercise of its own, not in WITHOUT_EXERCISE, and the next lesson has no exercise to point to"
    assert any(pointer in c.source for c in nb.cells if c.cell_type == "markdown" and c not in navs), (
        f"no pointer to {pointer}")


def test_navigation_script_is_idempotent(tmp_path):
    """scripts/nav.py writes the lessons' navigation cells and README's table of lessons; both are up to date."""
    files = [*NOTEBOOKS, ROOT / "README.md"]
    before = {p.name: p.read_bytes() for p in files}
    subprocess.run([sys.executable, str(ROOT / "scripts" / "nav.py")], check=True, capture_output=True)
    after = {p.name: p.read_bytes() for p in files}
    assert before == after, "the lessons' navigation or README's table is stale: run python scripts/nav.py"
    check = subprocess.run([sys.executable, str(ROOT / "scripts" / "nav.py"), "--check"], capture_output=True)
    assert check.returncode == 0, check.stdout


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
    figures = [c for c in nb.cells for o in c.get("outputs", []) if "image/png" in o.get("data", {})]
    assert figures, "the lesson drew no figure (a matplotlib figure computed as it runs)"
    tagged = [c for c in nb.cells if "raises-exception" in c.metadata.get("tags", [])]
    for cell in tagged:
        assert any(o.output_type == "error" for o in cell.outputs), f"tagged cell did not raise:\n{cell.source}"
    cluster.verify()  # the lesson left the shared cluster healthy for the next one


def test_the_challenge_check_finds_each_missing_part():
    new_md, new_code = nbformat.v4.new_markdown_cell, nbformat.v4.new_code_cell
    good = ("### Challenge: chunks\n\nPredict what this prints, then run it.\n\n"
            "<details><summary>Solution</summary>\n\n`[26, 26, 25, 25]`\n\n</details>")
    assert challenge_problems(nbformat.v4.new_notebook(cells=[new_md(good), new_code("print(1)")])) == []
    assert challenge_problems(nbformat.v4.new_notebook(cells=[new_md("## Key points")])) == ["no '### Challenge' cell"]
    unfolded = good.replace("<details>", "")
    assert len(challenge_problems(nbformat.v4.new_notebook(cells=[new_md(unfolded), new_code("")]))) == 1
    assert len(challenge_problems(nbformat.v4.new_notebook(cells=[new_md(good.replace("Predict", "Guess"))]))) == 2


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
