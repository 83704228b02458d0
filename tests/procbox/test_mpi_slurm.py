"""Past one machine: MPI engines and Slurm jobs through ipyparallel's own launchers, and grading as a job array.

Runs in CI and never skips: without MPI (pip's ``mpich`` and ``mpi4py``) or Slurm (Debian's ``slurm-wlm``
and ``munge``) the tests fail, saying which set-up step is missing.  Slurm is a single-node cluster whose
daemons are this test's own children (tests/support/slurm.py), stopped by PID at the end.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path

import psutil
import pytest
import yaml

from procbox import ippcluster, preflight
from procbox.processes import TOKEN_VAR, carrying
from support.slurm import missing as slurm_missing, single_node_slurm

ROOT = Path(__file__).resolve().parents[2]
BIN = Path(sys.executable).parent


def course(*args, env, timeout=240) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "course", *args], env=env, capture_output=True, text=True,
                          timeout=timeout, cwd=ROOT)


@pytest.fixture
def ipython_env(tmp_path):
    env = dict(os.environ, IPYTHONDIR=str(tmp_path / "ipython"))
    env["PATH"] = f"{BIN}{os.pathsep}{env.get('PATH', '')}"
    return env


@pytest.fixture(scope="module")
def slurm():
    problem = slurm_missing()
    if problem:
        pytest.fail(problem)
    root = tempfile.mkdtemp(prefix="slurm-")  # short: the munge socket's path must fit a sun_path
    try:
        with single_node_slurm(root) as env:
            yield env
    finally:
        shutil.rmtree(root, ignore_errors=True)


def _record(env) -> ippcluster.Record:
    rec = ippcluster.Record.load(ippcluster.record_path(Path(env["IPYTHONDIR"]) / "profile_default"))
    assert rec is not None, "course cluster start wrote no course-ipp-cluster.json"
    return rec


def _assert_all_gone(rec: ippcluster.Record) -> None:
    alive = [p for p in rec.all_procs() if p.alive()]
    assert not alive, f"still running after course cluster stop: {alive}"
    assert not carrying(rec.token), f"processes carrying the cluster's {TOKEN_VAR} survived: {carrying(rec.token)}"
    security = Path(rec.profile_dir) / "security"
    left = sorted(p.name for p in security.glob("*.json"))
    assert not left, f"files left in {security}: {left}"


def _run_lesson_code(env) -> dict:
    """What lesson 21 runs on the engines: their PIDs and hosts, a map, MPI ranks and an allreduce."""
    code = r"""
import json, os, socket
import ipyparallel as ipp
rc = ipp.Client()
rc.wait_for_engines(4, timeout=60)
dv = rc[:]
def where():
    import os, socket
    return os.getpid(), socket.gethostname()
out = {"ids": rc.ids, "where": dv.apply_sync(where),
       "squares": rc.load_balanced_view().map_sync(lambda x: x * x, range(10))}
if os.environ.get("WANT_MPI"):
    dv.execute("from mpi4py import MPI; comm = MPI.COMM_WORLD; rank = comm.Get_rank(); size = comm.Get_size()",
               block=True)
    out["ranks"] = dv["rank"]
    out["sizes"] = dv["size"]
    dv.execute("total = comm.allreduce(rank + 1)", block=True)
    out["allreduce"] = dv["total"]
rc.close()
print(json.dumps(out))
"""
    r = subprocess.run([sys.executable, "-c", code], env=env, capture_output=True, text=True, timeout=120)
    assert r.returncode == 0, r.stderr
    return json.loads(r.stdout.strip().splitlines()[-1])


def test_mpi_engines_via_course_cluster(ipython_env):
    problem = preflight.mpi_problem()
    if problem:
        pytest.fail(problem)
    env = dict(ipython_env, WANT_MPI="1")
    r = course("cluster", "start", "--launcher", "mpi", env=env)
    rec = None
    try:
        assert r.returncode == 0, r.stdout + r.stderr
        assert "mpi launcher" in r.stdout
        rec = _record(env)
        assert Path(rec.cluster_file).is_file(), "ipyparallel wrote no cluster file"
        cluster_file = json.loads(Path(rec.cluster_file).read_text())
        assert cluster_file["engines"]["class"] == "mpi", cluster_file["engines"]
        (engine_set,) = cluster_file["engines"]["sets"].values()
        mpiexec = psutil.Process(engine_set["pid"])
        assert Path(mpiexec.cmdline()[0]).name == "mpiexec" and str(BIN) in mpiexec.cmdline()[0], mpiexec.cmdline()

        st = course("cluster", "status", env=env)
        assert st.returncode == 0, st.stdout + st.stderr
        assert st.stdout.count(" running") == 5, st.stdout  # the controller and 4 engines
        assert "MPIEngineSetLauncher" in st.stdout and "MPI rank 3" in st.stdout, st.stdout

        out = _run_lesson_code(env)
        assert sorted(out["ids"]) == [0, 1, 2, 3]
        assert sorted(out["ranks"]) == [0, 1, 2, 3], out  # 4 distinct ranks of one MPI_COMM_WORLD
        assert out["ranks"] == out["ids"], "with --mpi each engine asks for its rank as its engine id"
        assert out["sizes"] == [4] * 4 and out["allreduce"] == [10] * 4, out
        assert out["squares"] == [x * x for x in range(10)]
        pids = {pid for pid, _ in out["where"]}
        assert len(pids) == 4 and pids <= {c.pid for c in mpiexec.children(recursive=True)}, \
            "the engines are mpiexec's ranks"
        again = course("cluster", "start", "--launcher", "mpi", env=env)
        assert again.returncode == 1 and "already running" in again.stderr, again.stderr
    finally:
        stop = course("cluster", "stop", env=env)
    assert stop.returncode == 0 and "Stopped" in stop.stdout, stop.stdout + stop.stderr
    _assert_all_gone(rec)
    assert course("cluster", "status", env=env).returncode == 1


def test_mpi_missing_says_how_to_install(ipython_env, monkeypatch):
    monkeypatch.setattr(preflight, "mpiexec", lambda: None)
    assert "pip install" in preflight.mpi_problem() and "mpich" in preflight.mpi_problem()


def test_slurm_engines_via_course_cluster(slurm, ipython_env):
    env = {**ipython_env, **{k: v for k, v in slurm.items() if k.startswith("SLURM")}}
    r = course("cluster", "start", "--launcher", "slurm", env=env)
    rec = None
    try:
        assert r.returncode == 0, r.stdout + r.stderr
        rec = _record(env)
        assert rec.job_id and "Slurm job" in r.stdout
        q = subprocess.run(["squeue", "-h", "-o", "%i %j %T %D"], env=env, capture_output=True, text=True)
        assert f"{rec.job_id} ipengine-" in q.stdout and "RUNNING" in q.stdout, q.stdout
        st = course("cluster", "status", env=env)
        assert st.returncode == 0 and "SlurmEngineSetLauncher" in st.stdout and "RUNNING" in st.stdout, st.stdout
        out = _run_lesson_code(env)
        assert sorted(out["ids"]) == [0, 1, 2, 3] and out["squares"] == [x * x for x in range(10)]
        for pid, host in out["where"]:  # the engines are tasks of the Slurm job
            environ = psutil.Process(pid).environ()
            assert environ.get("SLURM_JOB_ID") == rec.job_id, (pid, host)
        assert sorted(int(psutil.Process(pid).environ()["SLURM_PROCID"]) for pid, _ in out["where"]) == [0, 1, 2, 3]
    finally:
        stop = course("cluster", "stop", env=env)
    assert stop.returncode == 0 and "Stopped" in stop.stdout, stop.stdout + stop.stderr
    _assert_all_gone(rec)
    assert not (ROOT / "slurm_engine.sbatch").exists(), "the job script belongs in the profile, not the cwd"
    q = subprocess.run(["squeue", "-h", "-j", rec.job_id], env=env, capture_output=True, text=True)
    assert not q.stdout.strip(), f"the engines' job is still queued: {q.stdout}"


def _results(path: Path) -> dict:
    from grader.gradebook import Gradebook

    with Gradebook(path) as gb:
        return {(r.student, r.exercise): [(t.test, t.points, t.status) for t in r.tests] for r in gb.submissions()}


def test_grade_as_slurm_job_array(slurm, tmp_path):
    from grader import grade, merge
    from grader.exercise import load_exercises
    from grader.sample_class import make_class

    src = tmp_path / "src"
    src.mkdir()
    shutil.copy(ROOT / "exercises" / "05-push-and-pull-variables.ipynb", src)
    make_class(load_exercises(src), tmp_path / "class", students=6, seed=7)
    shards = tmp_path / "shards"
    env = dict(slurm, SUBMISSIONS=str(tmp_path / "class"), SOURCE=str(src), GRADEBOOK_DIR=str(shards),
               GRADER=str(BIN / "grader"))
    r = subprocess.run(["sbatch", "--wait", "--array=0-1", "--parsable", str(ROOT / "deploy/slurm/grade-array.sbatch")],
                       env=env, capture_output=True, text=True, timeout=600, cwd=tmp_path)
    logs = "\n".join(p.read_text(errors="replace")[-2000:] for p in sorted(tmp_path.glob("grade-*.out")))
    assert r.returncode == 0, f"{r.stdout}{r.stderr}\n{logs}"
    books = sorted(shards.glob("shard-*.sqlite"))
    assert [b.name for b in books] == ["shard-0.sqlite", "shard-1.sqlite"], logs
    each = [_results(b) for b in books]
    assert all(each) and not set(each[0]) & set(each[1]), "each task graded its own, non-empty share"
    assert merge.main(out=tmp_path / "merged.sqlite", gradebooks=books) == 0
    assert grade.main(submissions=tmp_path / "class", source=src, gradebook=tmp_path / "local.sqlite",
                      quiet=True) in (0, 1)
    local, merged = _results(tmp_path / "local.sqlite"), _results(tmp_path / "merged.sqlite")
    assert len(local) == 6
    assert merged == local


def test_k8s_indexed_job_manifest():
    doc = yaml.safe_load((ROOT / "deploy/k8s/grade-indexed-job.yaml").read_text())
    assert doc["apiVersion"] == "batch/v1" and doc["kind"] == "Job"
    spec = doc["spec"]
    assert spec["completionMode"] == "Indexed"
    n = spec["completions"]
    (c,) = spec["template"]["spec"]["containers"]
    args = c["args"]
    assert args[args.index("--shard") + 1] == f"$(JOB_COMPLETION_INDEX)/{n}"
    assert args[args.index("--workers") + 1] == "1"
    assert "$(JOB_COMPLETION_INDEX)" in args[args.index("--gradebook") + 1]
    assert c["resources"]["requests"] == c["resources"]["limits"] == {"cpu": "2", "memory": "3Gi"}
    assert c["securityContext"].get("privileged") is True
    assert spec["template"]["spec"]["restartPolicy"] == "Never"


def test_sbatch_script_requests_one_worker():
    text = (ROOT / "deploy/slurm/grade-array.sbatch").read_text()
    for line in ("#SBATCH --cpus-per-task=2", "#SBATCH --mem=3G"):
        assert line in text
    assert '--shard "$SLURM_ARRAY_TASK_ID/$SLURM_ARRAY_TASK_COUNT" --workers 1' in text
    r = subprocess.run(["bash", "-n", str(ROOT / "deploy/slurm/grade-array.sbatch")], capture_output=True, text=True)
    assert r.returncode == 0, r.stderr
