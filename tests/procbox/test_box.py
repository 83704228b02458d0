"""Sealed boxes (procbox.box) on their own, and the grader's recovery when a prepared slot fails.

The hostile classes that try to break out of a box while being graded are in
tests/grader/test_sealed.py; here: what a box is made of, that closing it ends every
process in it however it detached, the same box without root (in a user
namespace), stale cgroups, and a slot whose kernel never answers or dies before
any student code ran, which is graded again on a new slot.
"""

from __future__ import annotations

import json
import os
import shutil
import signal
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import psutil
import pytest

import make_fixtures
from procbox import resources
from procbox.box import Box
from procbox.forkserver import ForkServer
from procbox.policy import BoxPolicy, minimal_env, parse_size
from procbox.resources import UidLease
from support.builders import toy_exercise, write

ROOT = Path(__file__).resolve().parents[2]
FILES = Path(__file__).resolve().parents[1] / "files"
needs_box = pytest.mark.skipif(BoxPolicy().mode == "off", reason="no namespaces on this machine")
root_only = pytest.mark.skipif(os.geteuid() != 0, reason="needs root")
pytestmark = pytest.mark.timeout(300)


def test_sizes_and_the_minimal_environment(monkeypatch):
    assert parse_size("512M") == 512 * 2**20 and parse_size("2G") == 2 * 2**30 and parse_size("1.5GiB") == 3 * 2**29
    assert parse_size(1234) == 1234
    with pytest.raises(ValueError, match="not a size"):
        parse_size("lots")
    monkeypatch.setenv("INSTRUCTOR_TOKEN", "s3cret")
    monkeypatch.setenv("LC_TIME", "C")
    env = minimal_env(HOME="/work", NGRAM_BASE_URL="http://127.0.0.1:1/")
    assert "INSTRUCTOR_TOKEN" not in env and "s3cret" not in json.dumps(env)
    assert env["HOME"] == "/work" and env["LC_TIME"] == "C" and env["PATH"].startswith(os.path.dirname(sys.executable))


@pytest.fixture
def made(tmp_path):
    """A box of our own (no cluster): yields (box, run_dir); closes it."""
    os.chmod(tmp_path, 0o711)
    run = tmp_path / "run"
    (run / "work").mkdir(parents=True)
    lease = UidLease() if os.geteuid() == 0 else None
    uid, gid = (lease.uid, lease.gid) if lease else (os.getuid(), os.getgid())
    for p in (run, run / "work"):
        if lease:
            os.chown(p, uid, gid)
    policy = BoxPolicy(hide=[tmp_path], max_procs=64, tmp_bytes=8 * 2**20, work_bytes=8 * 2**20)
    fs = ForkServer(env=minimal_env())
    b = Box(fs, policy, run_dir=run, uid=uid, gid=gid, name=f"procbox-{os.getpid()}-test",
            log=tmp_path / "box.log")
    try:
        yield b, run
    finally:
        b.close()
        fs.close()
        if lease:
            lease.release()


def _kernel_code(b: Box, run: Path, code: str) -> tuple[int, int]:
    """Start a kernel in the box that runs ``code`` as it starts (IPython's ``code_to_run``)."""
    log = run / "k.log"
    return b.spawn("kernel", [f"--IPKernelApp.code_to_run={code}", "-f", str(run / "k.json")],
                   env=minimal_env(HOME=str(run / "work")), cwd=str(run / "work"), log=str(log))


def _box_members(b: Box) -> list[psutil.Process]:
    """Processes whose PID namespace is the box's (seen from outside)."""
    try:
        ns = os.readlink(f"/proc/{b.init_pid}/ns/pid")
    except OSError:
        return []
    found = []
    for proc in psutil.process_iter():
        try:
            if proc.pid != b.init_pid and os.readlink(f"/proc/{proc.pid}/ns/pid") == ns:
                found.append(proc)
        except (OSError, psutil.Error):
            continue
    return found


@needs_box
def test_closing_a_box_ends_every_process_in_it_however_it_detached(made):
    b, run = made
    # Every fork in a box gets a parent-death SIGKILL (procbox._launch); the grandchild clears it, and its parent
    # waits for that before it exits, so the grandchild outlives its parent on purpose rather than by luck.
    detach = ("import ctypes, os\n"
              "if os.fork() == 0:\n"
              "    os.setsid()\n"
              "    r, w = os.pipe()\n"
              "    if os.fork() == 0:\n"
              "        ctypes.CDLL(None).prctl(1, 0, 0, 0, 0)\n"  # no parent-death signal: it outlives its parent
              "        os.close(w)\n"
              "        os.execvpe('sleep', ['sleep', '600'], {})\n"
              "    os.close(w)\n"
              "    os.read(r, 1)\n"  # end of file: the grandchild has cleared its signal and exec'd
              "    os._exit(0)\n")
    host, ns = _kernel_code(b, run, detach)
    assert host != ns and psutil.pid_exists(host)
    deadline = time.monotonic() + 30
    while not any(p.name() == "sleep" for p in _box_members(b)) and time.monotonic() < deadline:
        time.sleep(0.05)
    members = _box_members(b)
    sleepers = [p for p in members if p.name() == "sleep"]
    assert sleepers, f"the detached sleeper never started; box members {members}; log {(run / 'k.log').read_text()}"
    assert sleepers[0].environ() == {} and sleepers[0].ppid() != host  # detached, no token, no marker
    if os.geteuid() == 0:
        assert sleepers[0].uids().real >= resources.UID_BASE  # the slot's own uid, not root and not `nobody`
    b.close()
    assert not any(p.is_running() and p.status() != psutil.STATUS_ZOMBIE for p in members + sleepers)


@needs_box
def test_the_box_sees_only_itself_and_cannot_signal_out(made, tmp_path):
    b, run = made
    answer = run / "answer.json"  # the work dir is the box's own tmpfs: the answer goes to the run directory
    code = ("import os, json, signal\n"
            f"pids = sorted(int(p) for p in os.listdir('/proc') if p.isdigit())\n"
            f"res = {{'pids': pids, 'me': os.getpid()}}\n"
            f"try:\n    os.kill({os.getpid()}, 0); res['grader'] = 'reachable'\n"
            f"except OSError as e:\n    res['grader'] = type(e).__name__\n"
            f"try:\n    os.kill(1, signal.SIGKILL); res['init'] = 'sent'\n"
            f"except OSError as e:\n    res['init'] = type(e).__name__\n"
            f"res['secret_dir'] = os.path.exists({str(tmp_path / 'box.log')!r})\n"
            f"open({str(answer)!r}, 'w').write(json.dumps(res))\n")
    _kernel_code(b, run, code)
    deadline = time.monotonic() + 30
    while not answer.exists() and time.monotonic() < deadline:
        time.sleep(0.05)
    res = json.loads(answer.read_text())
    assert len(res["pids"]) < 10 and 1 in res["pids"], res  # its own init and itself, not the machine's processes
    assert res["grader"] in ("ProcessLookupError",), res  # the grader's PID means nothing (or someone else) inside
    assert res["secret_dir"] is False, res  # the folder around the run directory is hidden
    time.sleep(0.2)
    assert b.alive(), "PID 1 of the box died from a signal sent inside it"


@needs_box
def test_stale_cgroups_of_a_dead_grader_are_swept():
    policy = BoxPolicy()
    if not policy.cgroups:
        pytest.skip("no writable cgroups here")
    dead = subprocess.Popen(["true"])
    dead.wait()
    stale = {c: base / f"procbox-{dead.pid}-x-a-1" for c, base in policy.cgroups.items()}
    for path in stale.values():
        path.mkdir(exist_ok=True)
    mine = {c: base / f"procbox-{os.getpid()}-x-a-1" for c, base in policy.cgroups.items()}
    for path in mine.values():
        path.mkdir(exist_ok=True)
    try:
        removed = resources.sweep_stale_cgroups(policy.cgroups)
        assert set(stale.values()) <= set(removed) and not any(p.exists() for p in stale.values())
        assert all(p.exists() for p in mine.values())  # a live grader's cgroup stays
    finally:
        for path in list(stale.values()) + list(mine.values()):
            if path.exists():
                path.rmdir()


# -- the same box without root -------------------------------------------------------------------------------

@root_only
@needs_box
def test_an_unprivileged_grader_gets_the_box_in_a_user_namespace(tmp_path):
    """As user `nobody` (through procbox.jail, which keeps the Python installation readable): the class is
    graded in boxes made in a user namespace, the start line says so, a student killing every process it may
    signal costs the good student nothing, and nothing of `nobody` is left."""
    top = Path(tempfile.mkdtemp(prefix="box-unprivileged-"))
    try:
        source, subs = top / "source", top / "subs"
        write(toy_exercise(), source / f"{make_fixtures.TOY}.ipynb")
        for student, name in (("a-kills", "kills-every-process"), ("z-good", "good")):
            (subs / student).mkdir(parents=True)
            shutil.copy(FILES / f"{name}.ipynb", subs / student / f"{make_fixtures.TOY}.ipynb")
        nobody = 65534
        for folder, _dirs, files in os.walk(top):
            os.chown(folder, nobody, nobody)
            for f in files:
                os.chown(os.path.join(folder, f), nobody, nobody)
        cmd = [sys.executable, "-m", "procbox.jail", "--user", "nobody", "--private-tmp", "--keep", str(top), "--",
               sys.executable, "-m", "grader", "grade", str(subs), "--source", str(source), "--gradebook",
               str(top / "g.sqlite"), "--workers", "1", "--timeout", "20"]
        out = subprocess.run(cmd, capture_output=True, text=True, timeout=240, cwd=ROOT,
                             env={k: v for k, v in os.environ.items() if k != "PYTEST_XDIST_WORKER"})
        text = out.stdout + out.stderr
        assert "sandbox: on" in text and "user namespace" in text, text[-3000:]
        assert out.returncode == 0, text[-3000:]
        import sqlite3

        with sqlite3.connect(top / "g.sqlite") as db:
            totals = dict(db.execute("select student, sum(points) from tests group by student"))
        assert totals["z-good"] == 5, (totals, text[-2000:])
        left = [p for p in psutil.process_iter(["uids", "status"]) if p.info["uids"] and p.info["uids"].real == nobody
                and p.info["status"] != psutil.STATUS_ZOMBIE]
        assert not left, left
    finally:
        shutil.rmtree(top, ignore_errors=True)


# -- a slot that fails before any student code ran ------------------------------------------------------------

@pytest.mark.parametrize("fault", ["SIGKILL", "SIGSTOP"])
def test_a_prepared_kernel_that_died_or_froze_is_graded_again_on_a_new_slot(tmp_path, monkeypatch, fault):
    """The first prepared kernel is killed (dies before kernel_info) or frozen (never answers) after it was
    prepared: the submission is graded on a freshly prepared slot, nobody loses a point, the run goes on."""
    from grader import grading, worker
    from support.classes import assert_good, assert_no_leaks, fixture, grade_class

    original, hit = worker.Slot._install_guard, []

    def faulty(self):
        original(self)
        if not hit:
            hit.append(self.km.provisioner.pid)
            os.kill(self.km.provisioner.pid, getattr(signal, fault))

    monkeypatch.setattr(worker.Slot, "_install_guard", faulty)
    monkeypatch.setattr(grading, "KERNEL_READY_TIMEOUT", 3)
    run = grade_class(tmp_path, {"a-first": {make_fixtures.TOY: fixture("good")}, "z-good": {
        make_fixtures.TOY: fixture("good")}})
    assert hit, "the fault was never injected"
    assert run.rc == 0, run.output[-2000:]
    assert_good(run, "a-first")
    assert_good(run, "z-good")
    assert "grading it again on a new one" in run.output
    assert_no_leaks(run)


def test_a_slot_that_keeps_failing_gives_an_error_row_and_the_run_goes_on(tmp_path, monkeypatch):
    """Every prepared kernel of one submission fails: that submission is an error row saying what to do; the
    students after it are graded."""
    from grader import worker
    from support.classes import assert_good, assert_no_leaks, fixture, grade_class

    original, count = worker.Slot._install_guard, []

    def faulty(self):
        original(self)
        count.append(1)
        if len(count) <= 2:  # the first submission's slot and the slot it is retried on
            os.kill(self.km.provisioner.pid, signal.SIGKILL)

    monkeypatch.setattr(worker.Slot, "_install_guard", faulty)
    run = grade_class(tmp_path, {"a-unlucky": {make_fixtures.TOY: fixture("good")}, "z-good": {
        make_fixtures.TOY: fixture("good")}})
    assert run.rc == 1
    r = run.r("a-unlucky")
    assert r.status == "error" and "failed twice" in r.message and "run the same command again" in r.message
    assert_good(run, "z-good")
    assert_no_leaks(run)
