"""Exercise 19's reference solution keeps full marks, hidden tests included, where the course's Linux machines are not
like a student's: on a Mac (no os.sched_getaffinity, numpy's BLAS Apple's Accelerate, which threadpoolctl neither
reports nor limits) and in a container with a CPU quota. Both are made up on a cluster of the test's own: the kernel
and the engines are patched before the exercise's set-up cell runs."""

import secrets
from pathlib import Path

import nbformat
import pytest

from grader.lessons import execute_notebook

ROOT = Path(__file__).resolve().parents[2]
EXERCISE = ROOT / "exercises" / "19-threads-and-oversubscription.ipynb"

FAKE_MAC = '''
def _fake_mac():
    """No CPU affinity calls, and a BLAS that threadpoolctl neither reports nor limits (Apple's Accelerate)."""
    import os
    import threadpoolctl
    for name in ("sched_getaffinity", "sched_setaffinity"):
        if hasattr(os, name):
            delattr(os, name)
    real_info = threadpoolctl.threadpool_info
    threadpoolctl.threadpool_info = lambda: [lib for lib in real_info() if lib["user_api"] != "blas"]

    class threadpool_limits:  # finds no pool to limit, as with Accelerate
        def __init__(self, limits=None, user_api=None):
            pass

        def __enter__(self):
            return self

        def __exit__(self, *exc):
            self.restore_original_limits()

        def restore_original_limits(self):
            pass

    threadpoolctl.threadpool_limits = threadpool_limits
    return hasattr(os, "sched_getaffinity")
'''

FAKE_QUOTA = '''
def _fake_quota():
    """This process is in a container whose cgroup (v2) allows 1 CPU: usable_cpus() says 1."""
    import os
    import tempfile
    import course.cpus as c
    d = tempfile.mkdtemp(prefix="fake-cgroup-")
    os.makedirs(os.path.join(d, "sys", "kubepods", "ctr"))
    with open(os.path.join(d, "sys", "kubepods", "cpu.max"), "w") as f:
        f.write("100000 100000\\n")
    with open(os.path.join(d, "sys", "kubepods", "ctr", "cpu.max"), "w") as f:
        f.write("max 100000\\n")
    with open(os.path.join(d, "cgroup"), "w") as f:
        f.write("0::/kubepods/ctr\\n")
    c.CGROUP_ROOT, c.PROC_CGROUP = os.path.join(d, "sys"), os.path.join(d, "cgroup")
    return c.usable_cpus()
'''


def prelude(fake: str, name: str) -> str:
    return (f"{fake}\n{name}()\n"
            "import ipyparallel as _ipp_prelude\n"
            "with _ipp_prelude.Client() as _c:\n"
            "    _c.wait_for_engines(4, timeout=60)\n"
            f"    print('engines faked:', _c[:].apply_sync({name}))\n")


@pytest.mark.timeout(300)
@pytest.mark.parametrize("fake, name", [(FAKE_MAC, "_fake_mac"), (FAKE_QUOTA, "_fake_quota")], ids=["mac", "quota"])
def test_reference_solution_passes_every_test_where_the_machine_differs(tmp_path, fake, name):
    from procbox.cluster import LocalCluster

    nb = nbformat.read(EXERCISE, as_version=4)  # the source: solutions and hidden tests
    nb.cells.insert(0, nbformat.v4.new_code_cell(prelude(fake, name)))
    marker = f"every test passed {secrets.token_hex(8)}"
    nb.cells.append(nbformat.v4.new_code_cell(f"print({marker!r})"))
    with LocalCluster(ipython_dir=tmp_path / "ipython") as cluster:
        nb = execute_notebook(nb, cwd=EXERCISE.parent, ipython_dir=cluster.ipython_dir,
                              mirror_url="http://127.0.0.1:9", name=EXERCISE.name)
    text = ["".join(o.get("text", "") for o in c.outputs) for c in nb.cells if c.cell_type == "code"]
    out = {c.metadata.get("nbgrader", {}).get("grade_id"): t
           for c, t in zip([c for c in nb.cells if c.cell_type == "code"], text)}
    assert text[-1] == marker + "\n", "the exercise did not run to its end"
    if name == "_fake_mac":
        assert "engines faked: [False, False, False, False]" in text[0], text[0]
        for test in ("q2-test", "q3-test", "q4-test"):
            assert "threadpoolctl reports no BLAS pool it can limit" in out[test], (test, out[test])
    else:
        assert "engines faked: [1, 1, 1, 1]" in text[0], text[0]
        assert "threadpoolctl reports no BLAS pool" not in "".join(text)
