"""Sealed boxes (issue 9, items 2-4): a submission cannot reach a neighbour, outlive grading or pass its limits.

Each class is one ``grade.main`` call with two workers (so a neighbour is being graded, and the next slots
are prepared, while an attack runs) over fixture submissions from ``tests/files`` (``tests/make_fixtures.py``,
``SEALED_FILES``) named ``a-<attack>``, next to well-behaved students (``m-good-slow``, ``z-good``, ...) who must
keep full marks.  Placeholders in the fixtures (``@HOST_PIDNS@``, ``@GRADER_PID@``, ``@NONCE@``) are filled in
here before grading; the attacks that could reach the whole machine outside a box (signal every process, fork
thousands) refuse to run unless they are in a PID namespace other than the grader's.

Leaks: student code gets a minimal environment, so its processes no longer carry the test marker that
:func:`conftest.leftover_processes` looks for, and a uid alone does not say whose a process is (another test
file, or another grader on the machine, may be running boxes with the same uids at the same time).  So every
class runs with a timer slack of its own (``prctl(PR_SET_TIMERSLACK)``), which every process started from this
call inherits, through fork, exec, ``setsid``, a change of uid and new namespaces alike, and which nothing in
the grader resets: any process still showing it after ``grade.main`` returned (and a grace period) is a leak of
this class, whatever its uid (it is reported with its uid, then killed by PID).  The probe submission prints
its kernel's and engines' timer slack, so a test checks that the attribution sees this class's boxes.

Issue 20 (``HOSTILE_FILES``): classes graded with the instructor's course folder (gradebook, a previous
grades.csv, a classmate's feedback page, the report) outside /tmp, as on a real machine, whose paths, this
checkout's and the ports of listeners the test opens on the host are placeholders too.  Each attack prints what it
achieved; each test says what it would have printed against the design issue 20 found (the host's network, a
mirror in the grader, paths covered instead of absent), and fails then.  Last, the sealing check itself: its probe
sees everything outside a box, finds a real box sealed, and a course it cannot hide is refused.
"""

from __future__ import annotations

import ast
import contextlib
import ctypes
import dataclasses
import io
import json
import os
import random
import re
import resource
import secrets
import shutil
import socket
import subprocess
import sys
import tempfile
import threading
import time
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path

import psutil
import pytest

import make_fixtures
from grader import feedback, grade, grading
from grader.gradebook import Gradebook
from grader.results import SubmissionResult, TestResult
from procbox.forkserver import ForkServer
from procbox.policy import BoxPolicy, minimal_env
from procbox.resources import UidLease
from procbox.sealing import check_sealed, probe_args, written_on_host
from support.classes import (
    LEAK_GRACE,
    TOY,
    Run,
    assert_good,
    assert_no_leaks,
    fixture,
    grade_class,
    make_source,
    marked,
    reap_new,
    statuses,
    text_of,
)

pytestmark = pytest.mark.timeout(900)

needs_root = pytest.mark.skipif(os.geteuid() != 0, reason="sealed boxes are tested as root (as in CI): they need "
                                "namespaces, cgroups and uids that only root may set up here")

SANDBOX_UID_MIN = 3_000_000  # the slot uids of sealed boxes
NOBODY = 65534
LIMITS = ("memory limit", "process limit", "/tmp limit", "working-directory limit")
SECRET_VAR = "GRADER_TEST_SECRET"
MARKER = "COURSE_TEST_RUN"  # conftest's marker: in the grader's environment, never in student code's
MIB = 2**20


# -- leaks, found by timer slack ---------------------------------------------------------------------------

PR_SET_TIMERSLACK = 29
_libc = ctypes.CDLL(None, use_errno=True)


def _set_timer_slack(ns: int) -> None:
    """This thread's timer slack, which every thread and process it starts from now on inherits (0: the default)."""
    if _libc.prctl(PR_SET_TIMERSLACK, ctypes.c_ulong(ns), ctypes.c_ulong(0), ctypes.c_ulong(0), ctypes.c_ulong(0)):
        err = ctypes.get_errno()
        raise OSError(err, f"prctl(PR_SET_TIMERSLACK): {os.strerror(err)}")


def _timer_slack(path: str) -> int | None:
    try:
        return int(Path(path).read_text())
    except (OSError, ValueError):
        return None


def _tagged(tag: int) -> list[psutil.Process]:
    """Live processes (other than this one) whose timer slack is ``tag``."""
    found = []
    for proc in psutil.process_iter(["status"]):
        if proc.pid == os.getpid() or proc.info["status"] == psutil.STATUS_ZOMBIE:
            continue
        if _timer_slack(f"/proc/{proc.pid}/timerslack_ns") == tag:
            found.append(proc)
    return found


def _describe(proc: psutil.Process) -> str:
    try:
        uid = proc.uids().real
        kind = "sandbox uid" if uid >= SANDBOX_UID_MIN else "nobody" if uid == NOBODY else "uid"
        return f"pid {proc.pid} ({kind} {uid}, {proc.status()}): {' '.join(proc.cmdline())[:200]}"
    except psutil.Error:
        return f"pid {proc.pid} (gone)"


def _sleepers_with(nonce: str) -> list[psutil.Process]:
    found = []
    for proc in psutil.process_iter(["cmdline", "status"]):
        if proc.info["cmdline"] == ["sleep", "600", nonce] and proc.info["status"] != psutil.STATUS_ZOMBIE:
            found.append(proc)
    return found


def _wait_then_kill(find, grace: float = LEAK_GRACE) -> list[str]:
    """What ``find()`` still returns after ``grace`` seconds, described, then killed by PID."""
    deadline = time.monotonic() + grace
    left = find()
    while left and time.monotonic() < deadline:
        time.sleep(0.1)
        left = find()
    described = [_describe(p) for p in left]
    for proc in left:
        with contextlib.suppress(psutil.Error):
            proc.kill()
    return described


# -- running a class ---------------------------------------------------------------------------------------

@dataclass
class Sealed:
    run: Run
    tag: int  # the timer slack this class's processes inherit
    box_leaks: list[str]  # processes with that timer slack alive after grade.main returned (killed now)
    sleepers: list[str]  # `sleep 600 NONCE` alive after grade.main returned (killed now)
    grader_env: dict = field(default_factory=dict, repr=False)  # the grader's environment while it graded
    secret: str = field(default="", repr=False)
    fill: dict = field(default_factory=dict, repr=False)  # placeholder -> what the test put in the fixtures
    measured: dict = field(default_factory=dict, repr=False)  # what a class's fixture found around the call
    students: list = field(default_factory=list)  # who was graded in this call

    def r(self, student: str):
        return self.run.r(student)


def chosen(*attacks: str, goods=("z-good", "z-good-2"), slow: bool = False) -> dict:
    """``a-<attack>`` for each attack, ``m-good-slow`` (still running when the attacks start) and the goods."""
    out = {f"a-{name}": {TOY: fixture(name)} for name in attacks}
    if slow:
        out["m-good-slow"] = {TOY: fixture("good-slow")}
    for name in goods:
        out[name] = {TOY: fixture("good")}
    return out


def well_behaved(sealed: Sealed) -> list[str]:
    """The students of this call who are not attacking (the gradebook may hold rows of an earlier run too)."""
    return sorted(s for s in sealed.students if not s.startswith("a-"))


def grade_sealed(tmp: Path, students: dict, fill: dict | None = None, **kwargs) -> Sealed:
    """Grade ``students`` with two workers, the placeholders filled in (``fill``: more of them), and find what
    outlived the call."""
    nonce = f"0.{secrets.randbelow(10**9):09d}"  # `sleep 600 0.NNN`: this class's sleepers and nobody else's
    fill = {"@HOST_PIDNS@": os.readlink("/proc/self/ns/pid"), "@GRADER_PID@": str(os.getpid()), "@NONCE@": nonce,
            **(fill or {})}
    for files in students.values():
        for exercise, data in files.items():
            for placeholder, value in fill.items():
                data = data.replace(placeholder.encode(), value.encode())
            files[exercise] = data
    kwargs.setdefault("workers", 2)
    tag = 40_000 + secrets.randbelow(20_000)
    tag += tag == 50_000  # never the default
    slack = f"/proc/self/task/{threading.get_native_id()}/timerslack_ns"
    before = _timer_slack(slack) or 0
    grader_env = dict(os.environ)
    _set_timer_slack(tag)
    try:
        run = grade_class(tmp, students, **kwargs)
    finally:
        _set_timer_slack(before)
        sleepers = _wait_then_kill(lambda: _sleepers_with(nonce))
        box_leaks = _wait_then_kill(lambda: _tagged(tag))
    return Sealed(run, tag, box_leaks, sleepers, grader_env, fill=fill, students=sorted(students))


def stdout(sealed: Sealed, student: str, exercise: str = TOY) -> str:
    """Everything the student's notebook printed to stdout, concatenated as printed."""
    nb = sealed.run.executed.get((student, exercise))
    if not nb:
        return ""
    return "".join(text_of(out.get("text")) for cell in nb["cells"] if cell.get("cell_type") == "code"
                   for out in cell.get("outputs", []) if out.get("output_type") == "stream"
                   and out.get("name") == "stdout")


def errors(sealed: Sealed, student: str, exercise: str = TOY) -> str:
    """The errors the student's cells raised, one line each."""
    nb = sealed.run.executed.get((student, exercise)) or {"cells": []}
    return "\n".join(f"{out.get('ename')}: {str(out.get('evalue'))[:300]}" for cell in nb["cells"]
                     if cell.get("cell_type") == "code" for out in cell.get("outputs", [])
                     if out.get("output_type") == "error")


def diagnosis(sealed: Sealed, student: str, exercise: str = TOY) -> str:
    r = sealed.run.results.get((student, exercise))
    return (f"{student}/{exercise}: {r.status if r else 'no result'}, message {r.message if r else ''!r}, "
            f"flags {r.flags if r else []}, tests {statuses(r) if r else {}}; printed:\n"
            f"{stdout(sealed, student, exercise)[-3000:]}\nraised:\n{errors(sealed, student, exercise)}\n"
            f"grader output:\n{sealed.run.output[-2000:]}")


def assert_attack_ran(sealed: Sealed, student: str, label: str) -> str:
    out = stdout(sealed, student)
    assert "REFUSED" not in out, ("the attack refused to run: the submission was not in a PID namespace of its own "
                                  "(no sealed box?)\n" + diagnosis(sealed, student))
    assert label in out, f"the attack did not get as far as {label!r}\n" + diagnosis(sealed, student)
    return out


def assert_q1_passed(sealed: Sealed, student: str) -> None:
    """The two q1 tests ran before the attack: they keep their points whatever the attack did."""
    r = sealed.r(student)
    got = statuses(r)
    assert got.get("q1-public") == got.get("q1-hidden") == "passed", diagnosis(sealed, student)


def names_limit(result, limit: str) -> bool:
    return limit in (result.message or "").lower()


def assert_costs_nobody_else(sealed: Sealed, rc: int | None = 0) -> None:
    run = sealed.run
    if rc is None:  # rows of the attackers may be errors: then 1, else 0
        rc = 1 if any(r.status == "error" for r in run.results.values()) else 0
    assert run.rc == rc, f"grade.main returned {run.rc}; it printed:\n{run.output[-3000:]}"
    goods = well_behaved(sealed)
    assert len(goods) >= 2, goods
    for (student, exercise), r in sorted(run.results.items()):
        if student not in goods:
            continue
        if exercise == TOY:
            assert_good(run, student)
        else:  # full marks on a real exercise
            assert r.status == "graded" and r.total == r.possible > 0, diagnosis(sealed, student, exercise)
            assert all(t.status == "passed" for t in r.tests), diagnosis(sealed, student, exercise)
        assert not r.flags, (student, exercise, r.flags)
        assert not any(names_limit(r, limit) for limit in LIMITS), (student, exercise, r.message)
    assert_no_leaks(run)
    assert not sealed.box_leaks, ("processes of this class still running after grade.main returned (found by "
                                  "timer slack; killed now):\n" + "\n".join(sealed.box_leaks))
    assert not sealed.sleepers, "detached sleepers still running (killed now):\n" + "\n".join(sealed.sleepers)


# -- 1. signalling every process: SIGKILL, SIGSTOP ----------------------------------------------------------

@pytest.fixture(scope="module")
def kill_class(tmp_path_factory):
    return grade_sealed(tmp_path_factory.mktemp("sealed-kill"),
                        chosen("kills-every-process", slow=True, goods=("z-good", "z-good-2", "z-good-3")), timeout=5)


@pytest.fixture(scope="module")
def stop_class(tmp_path_factory):
    return grade_sealed(tmp_path_factory.mktemp("sealed-stop"),
                        chosen("stops-every-process", slow=True, goods=("z-good", "z-good-2", "z-good-3")), timeout=5)


SIGNAL_ATTACKS = {  # class fixture -> (attacker, what it prints once sent, what passing q2-clean would mean)
    "kill_class": ("a-kills-every-process", "KILL-ALL-SENT", "its engines survived the SIGKILL"),
    "stop_class": ("a-stops-every-process", "STOP-ALL-SENT", "its own engines kept running"),
}


@needs_root
@pytest.mark.parametrize("which", sorted(SIGNAL_ATTACKS))
def test_a_signal_to_every_process_reaches_only_its_own_box(which, request):
    run = request.getfixturevalue(which)
    student, sent, survived = SIGNAL_ATTACKS[which]
    assert_attack_ran(run, student, sent)
    r = run.r(student)
    assert r.status == "graded", diagnosis(run, student)
    assert_q1_passed(run, student)
    assert statuses(r)["q2-clean"] != "passed", f"{survived}\n" + diagnosis(run, student)


@needs_root
def test_sigkill_class_costs_nobody_else(kill_class):
    assert_costs_nobody_else(kill_class)


@needs_root
def test_sigstop_class_costs_nobody_else_and_leaves_nothing_stopped(stop_class):
    assert_costs_nobody_else(stop_class)


# -- 2, 5, 6. limits per submission: processes, memory of all processes, /tmp, working directory ---------------

LIMITED = dict(memory=2**30, max_procs=128, tmp_bytes=64 * MIB, work_bytes=64 * MIB)


@pytest.fixture(scope="module")
def limits_class(tmp_path_factory):
    return grade_sealed(tmp_path_factory.mktemp("sealed-limits"),
                        chosen("fork-bomb", "memory-in-every-process", "fills-tmp", "fills-workdir"),
                        timeout=20, **LIMITED)


@needs_root
def test_fork_bomb_hits_the_process_limit(limits_class):
    student = "a-fork-bomb"
    out = stdout(limits_class, student)
    assert "REFUSED" not in out, "not in a box of its own\n" + diagnosis(limits_class, student)
    made = re.search(r"FORK-BOMB made (\d+) children; stopped by (.*)", out)
    if made:  # (a submission ended at once when it hits the limit may not get to print)
        assert int(made.group(1)) < LIMITED["max_procs"], diagnosis(limits_class, student)
        assert made.group(2) != "None", "every fork succeeded\n" + diagnosis(limits_class, student)
    r = limits_class.r(student)
    assert names_limit(r, "process limit"), diagnosis(limits_class, student)
    assert_q1_passed(limits_class, student)


@needs_root
def test_memory_of_all_processes_of_a_submission_together_is_limited(limits_class):
    student = "a-memory-in-every-process"
    out = stdout(limits_class, student)
    assert not re.search(r"HOG-TOTAL-REACHED \d+", out), ("kernel and engines held 2 GB with 1 GiB for the "
                                                          "submission\n" + diagnosis(limits_class, student))
    r = limits_class.r(student)
    assert names_limit(r, "memory limit"), diagnosis(limits_class, student)
    assert_q1_passed(limits_class, student)
    assert statuses(r)["q2-clean"] != "passed", diagnosis(limits_class, student)


@needs_root
@pytest.mark.parametrize("name, label, limit", [("fills-tmp", "TMP-WROTE", "/tmp limit"),
                                                ("fills-workdir", "WORK-WROTE", "working-directory limit")])
def test_writes_stop_at_the_size_cap(limits_class, name, label, limit):
    student = f"a-{name}"
    out = stdout(limits_class, student)
    wrote = re.search(rf"{label} (\d+) bytes .*; stopped by (.*)", out)
    assert wrote, "the cell did not say how much it wrote\n" + diagnosis(limits_class, student)
    written = int(wrote.group(1))
    assert written < 100_000_000, f"{written // MIB} MiB written with a 64 MiB cap\n" + diagnosis(limits_class, student)
    assert written >= 32 * MIB, f"only {written // MIB} MiB of a 64 MiB cap\n" + diagnosis(limits_class, student)
    assert wrote.group(2) != "None", diagnosis(limits_class, student)
    r = limits_class.r(student)
    assert names_limit(r, limit), diagnosis(limits_class, student)
    assert_q1_passed(limits_class, student)


@needs_root
def test_limits_class_costs_nobody_else(limits_class):
    assert_costs_nobody_else(limits_class, rc=None)


# -- 3, 4, 7. getting out: a detached child, the grader's environment, the neighbours ----------------------------

ESCAPES = ("setsid-env-i-sleeper", "prints-its-environment", "probes-neighbours")


@pytest.fixture(scope="module")
def escape_class(tmp_path_factory):
    secret = secrets.token_hex(16)
    old = os.environ.get(SECRET_VAR)
    os.environ[SECRET_VAR] = secret
    try:
        sealed = grade_sealed(tmp_path_factory.mktemp("sealed-escape"), chosen(*ESCAPES), timeout=10)
    finally:
        if old is None:
            os.environ.pop(SECRET_VAR, None)
        else:
            os.environ[SECRET_VAR] = old
    sealed.secret = secret
    return sealed


@needs_root
def test_detached_child_without_token_or_marker_is_gone_when_grading_returns(escape_class):
    student = "a-setsid-env-i-sleeper"
    out = assert_attack_ran(escape_class, student, "DETACHED-SLEEPERS")
    started = re.search(r"DETACHED-SLEEPERS from \[([\d, ]+)\]", out)
    assert started and len(started.group(1).split(",")) == 5, diagnosis(escape_class, student)
    assert not escape_class.sleepers, ("`env -i sleep 600` still running after grade.main returned (killed now):\n"
                                       + "\n".join(escape_class.sleepers))


@needs_root
def test_grader_secret_reaches_no_gradebook_and_no_feedback(escape_class, tmp_path):
    run, secret = escape_class.run, escape_class.secret
    out = assert_attack_ran(escape_class, "a-prints-its-environment", "ENV-KERNEL")
    assert out.count("ENV-ENGINE") == 4, diagnosis(escape_class, "a-prints-its-environment")
    leaked = sorted(s for (s, _), nb in run.executed.items() if nb and secret in json.dumps(nb))
    assert not leaked, f"the grader's secret is in the executed notebook of {leaked}"
    for path in sorted(run.book.parent.glob(run.book.name + "*")):  # the gradebook and any -wal / -shm
        assert secret.encode() not in path.read_bytes(), f"the grader's secret is in {path.name}"
    with contextlib.redirect_stdout(io.StringIO()):
        assert feedback.main(gradebook=run.book, out=tmp_path / "feedback") == 0
    pages = [p for p in (tmp_path / "feedback").rglob("*") if p.is_file()]
    assert len(pages) >= 2 * len(run.results), pages
    found = [str(p.relative_to(tmp_path)) for p in pages if secret.encode() in p.read_bytes()]
    assert not found, f"the grader's secret is in the feedback: {found}"


# Names a variable may have in student code when the grader had it with the same value: those it passes on on purpose.
PASSED_ON = re.compile(r"PATH|PYTHONPATH|LANG|LANGUAGE|LC_\w+|TZ|TERM|HOME|NGRAM_BASE_URL|IPYTHONDIR|PYTHON\w*"
                       r"|PYDEVD_\w+|JPY_\w+|JUPYTER_\w+|IPP_\w+|MPLBACKEND|CLICOLOR|FORCE_COLOR|PAGER|GIT_PAGER")


def _environments(sealed: Sealed) -> list[tuple[str, dict]]:
    found = []
    for line in stdout(sealed, "a-prints-its-environment").splitlines():
        for label in ("ENV-KERNEL", "ENV-ENGINE"):
            if line.startswith(label + " "):
                found.append((label, json.loads(line[len(label) + 1:])))
    return found


def _parse_environ(text: str) -> dict | None:
    if text.startswith("BLOCKED"):
        return None
    return dict(line.split("=", 1) for line in text.splitlines() if "=" in line)


@needs_root
def test_student_environment_is_an_allowlist(escape_class):
    envs = _environments(escape_class)
    assert [label for label, _ in envs] == ["ENV-KERNEL"] + ["ENV-ENGINE"] * 4, diagnosis(
        escape_class, "a-prints-its-environment")
    grader_env = escape_class.grader_env
    problems = []
    for label, found in envs:
        places = [("os.environ", found["environ"]), ("/proc/self/environ", _parse_environ(found["proc_self_environ"]))]
        places += [(f"/proc/{pid}/environ (an ancestor)", _parse_environ(text))
                   for pid, text in found["ancestors"].items()]
        for where, env in places:
            if env is None:  # not readable: nothing of it reaches student code
                continue
            inherited = sorted(k for k, v in env.items() if grader_env.get(k) == v and not PASSED_ON.fullmatch(k))
            if inherited:
                problems.append(f"{label} {where}: from the grader's environment: {inherited}")
            for name in (SECRET_VAR, MARKER, "PYTEST_CURRENT_TEST", "PYTEST_XDIST_WORKER"):
                if name in env:
                    problems.append(f"{label} {where}: has {name}")
        env = found["environ"]
        if env.get("HOME") != found["cwd"]:
            problems.append(f"{label}: HOME is {env.get('HOME')!r}, not the working directory {found['cwd']!r}")
        if "PATH" not in env:
            problems.append(f"{label}: no PATH")
    kernel = envs[0][1]["environ"]
    for name in ("IPYTHONDIR", "NGRAM_BASE_URL"):
        if name not in kernel:
            problems.append(f"ENV-KERNEL: no {name} (ipp.Client() and the n-gram notebooks need it)")
    assert not problems, "\n".join(problems)


def _probe(sealed: Sealed) -> str:
    return assert_attack_ran(sealed, "a-probes-neighbours", "IDENTITY")


@needs_root
def test_box_sees_only_its_own_processes(escape_class):
    out = _probe(escape_class)
    listed = re.search(r"PROC-PIDS (\d+)", out)
    threads = re.search(r"PROC-TASKS (\d+)", out)
    scanned = re.search(r"SIGNAL-SCAN (\d+)", out)
    assert listed and threads and scanned, diagnosis(escape_class, "a-probes-neighbours")
    assert int(listed.group(1)) < 40, f"/proc shows {listed.group(1)} processes\n" + out[-3000:]
    # signal 0 also finds threads (a box has about 70 tasks); it must find no task its /proc does not show
    assert int(scanned.group(1)) <= int(threads.group(1)) + 10, (
        f"signal 0 finds {scanned.group(1)} tasks, /proc shows {threads.group(1)}\n" + out[-3000:])
    assert int(scanned.group(1)) < 200, f"signal 0 finds {scanned.group(1)} tasks\n" + out[-3000:]
    me = " ".join(psutil.Process().cmdline())
    seen = re.search(r"PROC-CMDLINES (.*)", out).group(1)
    assert me not in seen, "the grader's process is visible from the box"


@needs_root
@pytest.mark.parametrize("label", ["GRADER-SIGNAL", "GRADER-CMDLINE", "GRADER-ENVIRON", "GRADER-MEM",
                                   "GRADER-PROCESS-VM-READV"])
def test_box_cannot_signal_read_or_trace_the_grader(escape_class, label):
    out = _probe(escape_class)
    assert f"{label}: BLOCKED" in out and f"{label}-OK" not in out, (label, out[-3000:])


def _identity(sealed: Sealed) -> dict:
    found = re.search(r"IDENTITY (\{.*\})", _probe(sealed))
    assert found, diagnosis(sealed, "a-probes-neighbours")
    return ast.literal_eval(found.group(1))


@needs_root
def test_box_runs_as_a_slot_uid_of_its_own(escape_class):
    ident = _identity(escape_class)
    uids = {ident["kernel"][0]} | {e[0] for e in ident["engines"]}
    assert len(uids) == 1, f"kernel and engines of one submission run as {uids}"
    uid = uids.pop()
    assert uid >= SANDBOX_UID_MIN and uid != NOBODY, f"student code runs as uid {uid}, not a slot uid"


@needs_root
def test_leak_check_sees_this_class_processes(escape_class):
    """The attribution of leaks by timer slack works: the box's kernel and engines inherited this class's."""
    ident = _identity(escape_class)
    slack = [ident["kernel"][2]] + [e[2] for e in ident["engines"]]
    assert slack == [escape_class.tag] * 5, (
        f"timer slack in the box {slack}, the grader's {escape_class.tag}: the box's processes do not descend "
        "from what grade.main started (or reset their timer slack), so this file cannot find what they leave")


@needs_root
def test_escapes_still_score_their_own_work(escape_class):
    for name in ESCAPES:
        r = escape_class.r(f"a-{name}")
        assert r.status == "graded" and r.total == 5, diagnosis(escape_class, f"a-{name}")


@needs_root
def test_escape_class_costs_nobody_else(escape_class):
    assert_costs_nobody_else(escape_class)


# -- the interface: limits as arguments and flags ------------------------------------------------------------

def test_limits_are_arguments_of_grade_main_and_flags_of_grader_grade():
    from grader.cli import build_parser
    from grader.options import GradingOptions

    fields = {f.name for f in dataclasses.fields(GradingOptions)}  # what grade.main(..., name=value) takes
    missing = [name for name in ("memory", "max_procs", "tmp_bytes", "work_bytes") if name not in fields]
    assert not missing, f"GradingOptions has no {missing}"
    limits = GradingOptions(memory=2**30, max_procs=256, tmp_bytes=256 * MIB, work_bytes=512 * MIB).box_policy([])
    assert (limits.memory, limits.max_procs, limits.tmp_bytes, limits.work_bytes) == (2**30, 256, 256 * MIB, 512 * MIB)
    argv = ["grade", "subs", "--memory", "1G", "--max-procs", "256", "--tmp-size", "256M", "--work-size", "512M"]
    try:
        args = vars(build_parser().parse_args(argv))
    except SystemExit as e:
        pytest.fail(f"grader {' '.join(argv)}: rejected (exit {e.code})")
    got = {k: args.get(k) for k in ("memory", "max_procs", "tmp_bytes", "work_bytes")}
    assert got == {"memory": 2**30, "max_procs": 256, "tmp_bytes": 256 * MIB, "work_bytes": 512 * MIB}, got
    assert vars(build_parser().parse_args(["grade", "subs", "--memory", str(2**30)]))["memory"] == 2**30


# -- issue 20: a hostile class next to well-behaved students, the course folder where an instructor keeps it ------
#
# Each class is graded with two workers, its course folder (sources, submissions, the gradebook, a previous
# grades.csv, a classmate's feedback page, the class report) outside /tmp, as on a real machine: a box's /tmp and
# /var/tmp are its own, which would hide these for the wrong reason.  Folders are 0755 and files 0644, so nothing is
# hidden by permissions alone.

ROOT = Path(__file__).resolve().parents[2]
NGRAMS = make_fixtures.NGRAMS
PREVIOUS = SubmissionResult("m-classmate", TOY, "earlier.ipynb", "0" * 64, max_points=5, started="s", finished="f",
                            tests=[TestResult("q1-public", 1, 1, "passed"), TestResult("q1-hidden", 2, 2, "passed"),
                                   TestResult("q2-clean", 0, 2, "failed", "AssertionError")])


@dataclass
class Course:
    """An instructor's course folder with a previous run's results in it, and the marker its files hold."""

    folder: Path
    source: Path
    book: Path
    grades_csv: Path
    feedback: Path  # a classmate's feedback page
    report: Path  # the report's folder
    secret: str  # in grades.csv, the feedback page and the report

    @property
    def subs(self) -> Path:
        return self.folder / "subs"  # where grade_class writes the submissions

    def placeholders(self) -> dict:
        from course.data import DATA_DIR

        return {"@PROJECT@": str(ROOT), "@DATA_DIR@": str(DATA_DIR.resolve()), "@SOURCE@": str(self.source),
                "@SUBMISSIONS@": str(self.subs), "@GRADEBOOK@": str(self.book), "@GRADES_CSV@": str(self.grades_csv),
                "@FEEDBACK@": str(self.feedback), "@REPORT@": str(self.report), "@COURSE@": str(self.folder)}

    def grade(self, students: dict, fill: dict | None = None, **kwargs) -> Sealed:
        return grade_sealed(self.folder, students, {**self.placeholders(), **(fill or {})}, source=self.source,
                            book=self.book, **kwargs)


@contextlib.contextmanager
def course_folder(parent: Path = ROOT.parent, exercises=(TOY,)):
    """A course folder as an instructor keeps it, in a new folder of ``parent`` (by default next to this checkout,
    outside /tmp); removed afterwards."""
    top = Path(tempfile.mkdtemp(prefix=".sealed-course-", dir=parent))
    try:
        folder = top / "course"
        source = make_source(folder / "source")
        if NGRAMS in exercises:
            shutil.copy(ROOT / "exercises" / f"{NGRAMS}.ipynb", source)
        book = folder / "gradebook.sqlite"
        with Gradebook(book) as gb:
            gb.record(PREVIOUS, '{"cells": []}')
        secret = f"CLASSMATE-{secrets.token_hex(8)}"
        grades_csv = folder / "grades.csv"
        grades_csv.write_text(f"student,exercise,points,comment\nm-classmate,{TOY},3,{secret}\n")
        feedback_page = folder / "feedback" / "m-classmate" / f"{TOY}.html"
        feedback_page.parent.mkdir(parents=True)
        feedback_page.write_text(f"<html><body>m-classmate: 3/5 {secret}</body></html>\n")
        report = folder / "report"
        report.mkdir()
        (report / "index.html").write_text(f"<html><body>class report {secret}</body></html>\n")
        for path in [top, *top.rglob("*")]:
            path.chmod(0o755 if path.is_dir() else 0o644)
        yield Course(folder, source, book, grades_csv, feedback_page, report, secret)
    finally:
        shutil.rmtree(top, ignore_errors=True)


def attempts(sealed: Sealed, student: str, prefix: str) -> dict[str, str]:
    """{label: "OK ..." or "BLOCKED ..."} of the student's attempts whose label starts with ``prefix``."""
    found = {}
    for line in stdout(sealed, student).splitlines():
        m = re.match(rf"({re.escape(prefix)}.*?)(?:-OK (.*)|: BLOCKED (.*))$", line)
        if m:
            found[m.group(1)] = f"OK {m.group(2)}" if m.group(2) is not None else f"BLOCKED {m.group(3)}"
    return found


def assert_blocked(sealed: Sealed, student: str, labels) -> None:
    got = attempts(sealed, student, "")
    missing = [label for label in labels if label not in got]
    assert not missing, f"the attack did not try {missing}\n" + diagnosis(sealed, student)
    achieved = {label: got[label] for label in labels if not got[label].startswith("BLOCKED")}
    assert not achieved, f"achieved: {achieved}\n" + diagnosis(sealed, student)


# -- 1. nothing of the instructor's or a classmate's is read, nothing outside the box is written; 6. random draws ------

BOX_WRITES = ("/run/lock", "/var/lock", "/tmp", "/var/tmp", "/dev/shm")
TARGETS = ("GIT", "PROJECT-EXERCISES", "PROJECT-DATA", "DATA-DIR", "SOURCE", "SUBMISSIONS", "GRADEBOOK", "GRADES-CSV",
           "FEEDBACK", "REPORT", "COURSE")


@pytest.fixture(scope="module")
def course_class():
    with course_folder() as course:
        students = chosen("reads-course-and-project", "writes-outside-its-box", "numpy-draws", slow=True)
        students["a-numpy-draws-2"] = {TOY: fixture("numpy-draws")}
        sealed = course.grade(students, timeout=60)
        found = [path for folder in BOX_WRITES for path in Path(folder).glob(f"box-write-{sealed.fill['@NONCE@']}-*")]
        sealed.measured["on the host"] = sorted({str(path) for path in found})
        for path in found:
            with contextlib.suppress(OSError):
                path.unlink()
        sealed.measured["course"] = course
        yield sealed


@needs_root
def test_nothing_of_the_instructor_or_a_classmate_is_read(course_class):
    """Issue 20's boxes printed READ-GIT-OK (the checkout's .git), GIT-SHOW-OK (a solution notebook) and
    READ-GRADES-CSV-OK, READ-FEEDBACK-OK, READ-REPORT-OK (a classmate's marks): none was hidden."""
    student = "a-reads-course-and-project"
    course = course_class.measured["course"]
    for path in (ROOT / ".git", ROOT / "exercises", course.book, course.grades_csv, course.feedback, course.report):
        assert path.exists(), f"{path}: the test's own layout is not there, so nothing was tried"
    assert_blocked(course_class, student, [f"READ-{t}" for t in TARGETS] + ["GIT-SHOW", "GIT-LOG"])
    assert "GIT-IN-THE-BOX /" in stdout(course_class, student), "git was not there to try the project's .git with"
    out = stdout(course_class, student)
    for marker in ("### BEGIN " + "SOLUTION", "### BEGIN " + "HIDDEN TESTS", "HIDDEN-MARKER", course.secret):
        assert marker not in out, f"{marker!r} in what the attacker printed\n" + diagnosis(course_class, student)
    leaked = sorted(s for (s, _), nb in course_class.run.executed.items() if nb and course.secret in json.dumps(nb))
    assert not leaked, f"the classmate's marks from grades.csv, feedback or report are in the notebooks of {leaked}"


@needs_root
def test_the_mount_table_and_a_walk_of_the_root_name_none_of_it(course_class):
    """Issue 20's boxes covered hidden paths with mounts: MOUNTINFO-NAMES for each, and WALK-FOUND for the
    checkout's files.  (With the course inside the Python installation, where paths can only be covered, both
    show again: the sealing check refuses that course, see below.)"""
    out = assert_attack_ran(course_class, "a-reads-course-and-project", "WALK:")
    assert f"MOUNTINFO: names none of the {len(TARGETS)} paths" in out and "MOUNTINFO-NAMES" not in out, (
        "the box's mount table names hidden paths\n" + diagnosis(course_class, "a-reads-course-and-project"))
    walked = re.search(r"WALK: (\d+) entries, (.*), (\d+) of the instructor's", out)
    assert walked, diagnosis(course_class, "a-reads-course-and-project")
    assert walked.group(2) == "the whole file system", walked.group(0)
    assert int(walked.group(1)) > 1000, walked.group(0)  # it walked the box's installation, not an empty root
    assert walked.group(3) == "0" and "WALK-FOUND" not in out, [
        line for line in out.splitlines() if line.startswith("WALK-FOUND")][:20]


@needs_root
def test_nothing_written_in_a_box_shows_outside_it(course_class):
    """Issue 20's boxes had the host's /run/lock and /var/lock: the files written there were on the host after
    grading (a channel from one student to the next)."""
    student = "a-writes-outside-its-box"
    got = attempts(course_class, student, "WRITE-OWN")
    assert sorted(got) == sorted(f"WRITE-OWN {f}" for f in BOX_WRITES), diagnosis(course_class, student)
    assert all(v.startswith("OK") for v in got.values()), f"the box could not write in its own folders: {got}"
    on_host = course_class.measured["on the host"]
    assert not on_host, f"files written in a box are on the host: {on_host} (a channel between students; removed now)"
    read_only = attempts(course_class, student, "WRITE-READ-ONLY")
    assert len(read_only) == 9, read_only
    assert all(v.startswith("BLOCKED") for v in read_only.values()), {k: v for k, v in read_only.items()
                                                                      if not v.startswith("BLOCKED")}


def _draws(sealed: Sealed, student: str) -> list[list]:
    found = re.search(r"^DRAWS (\{.*\})$", stdout(sealed, student), re.M)
    assert found, diagnosis(sealed, student)
    got = json.loads(found.group(1))
    return [got["kernel"], *got["engines"]]


@needs_root
def test_random_draws_differ_between_the_kernel_the_engines_and_the_boxes(course_class):
    """Forks of one template share numpy's global state: without the reseed at fork, DRAWS shows one number five
    times (and the same in every box of that template)."""
    first, second = (_draws(course_class, s) for s in ("a-numpy-draws", "a-numpy-draws-2"))
    assert len(first) == len(second) == 5, (first, second)
    for draws in (first, second):
        assert len({pid for pid, _, _ in draws}) == 5, draws  # a kernel and four engines
        assert len({numpy for _, numpy, _ in draws}) == 5, f"numpy.random.random() repeats within a box: {draws}"
        assert len({python for _, _, python in draws}) == 5, f"random.random() repeats within a box: {draws}"
    both = [numpy for _, numpy, _ in first + second]
    assert len(set(both)) == 10, f"numpy draws repeat across two students' boxes: {first} {second}"


@needs_root
def test_course_class_costs_nobody_else(course_class):
    assert_costs_nobody_else(course_class)
    for name in ("a-reads-course-and-project", "a-writes-outside-its-box", "a-numpy-draws", "a-numpy-draws-2"):
        r = course_class.r(name)
        assert r.status == "graded" and r.total == 5, diagnosis(course_class, name)
    with Gradebook(course_class.measured["course"].book) as gb:  # the previous run's row is as it was
        previous = {(r.student, r.exercise): r for r in gb.submissions()}[("m-classmate", TOY)]
    assert [(t.test, t.points) for t in previous.tests] == [(t.test, t.points) for t in PREVIOUS.tests]


# -- 2, 4. no route out, no other box reachable; a box that binds every port ends nothing ------------------------------

def _host_listener(family: int, host: str) -> socket.socket | None:
    """A listener on the host's loopback at a port no box uses in its own network (its controller's block from 20000,
    its mirror's in the ephemeral range), so that reaching it means reaching the host; None if there is no ::1."""
    rng = random.Random(secrets.randbits(32))
    for port in rng.sample(range(12000, 20000), 200):
        s = socket.socket(family, socket.SOCK_STREAM)
        try:
            s.bind((host, port))
            s.listen(64)
            s.setblocking(False)
            return s
        except OSError:
            s.close()
    if family == socket.AF_INET6:
        return None  # no ::1 on this host
    raise OSError(f"no free port on {host} between 12000 and 20000")


def _accepted(listener: socket.socket) -> int:
    n = 0
    while True:
        try:
            conn, _ = listener.accept()
        except BlockingIOError:
            return n
        conn.close()
        n += 1


@pytest.fixture(scope="module")
def network_class():
    v4, v6 = _host_listener(socket.AF_INET, "127.0.0.1"), _host_listener(socket.AF_INET6, "::1")
    try:
        with course_folder() as course:
            fill = {"@HOST_PORT4@": str(v4.getsockname()[1]), "@HOST_PORT6@": str(v6.getsockname()[1] if v6 else 0)}
            sealed = course.grade(chosen("probes-the-network", "binds-every-port", slow=True,
                                         goods=("z-good", "z-good-2", "z-good-3")), fill, timeout=60)
        listeners = {"127.0.0.1": v4, **({"::1": v6} if v6 else {})}
        sealed.measured["accepted"] = {host: _accepted(s) for host, s in listeners.items()}
        sealed.measured["host ports"] = {host: s.getsockname()[1] for host, s in listeners.items()}
        yield sealed
    finally:
        for s in (v4, v6):
            if s is not None:
                s.close()


@needs_root
def test_no_route_out_and_no_listener_of_the_host(network_class):
    """In the host's network (issue 20, or --network host) ROUTE-IPV4-OK, ROUTE-IPV6-OK and HOST-LISTENER ...-OK,
    and the test's listeners accepted the connections."""
    student = "a-probes-the-network"
    routes = attempts(network_class, student, "ROUTE-")
    assert sorted(routes) == ["ROUTE-IPV4", "ROUTE-IPV6"], diagnosis(network_class, student)
    for label, outcome in routes.items():
        assert outcome.startswith("BLOCKED") and "Network is unreachable" in outcome, (label, outcome)
    hosts = attempts(network_class, student, "HOST-LISTENER")
    assert sorted(hosts) == sorted(f"HOST-LISTENER {h}" for h in network_class.measured["host ports"]), hosts
    for label, outcome in hosts.items():
        assert outcome.startswith("BLOCKED ConnectionRefusedError"), (label, outcome)
    assert network_class.measured["accepted"] == {h: 0 for h in network_class.measured["host ports"]}, (
        f"connections reached the test's listeners on the host: {network_class.measured['accepted']}")


@needs_root
def test_the_loopback_holds_only_its_own_box_listeners(network_class):
    """In the host's network the scan and /proc/net/tcp list the host's listeners and other boxes' controllers."""
    out = assert_attack_ran(network_class, "a-probes-the-network", "PORT-SCAN open and not this box's:")
    foreign = re.search(r"^LISTENERS-NOT-THIS-BOX'S \[(.*)\]$", out, re.M)
    assert foreign and foreign.group(1) == "", (
        "the box's network has listening sockets of processes outside its box (other boxes, the host)\n"
        + (foreign.group(0) if foreign else out[-3000:]))
    scan = re.search(r"^PORT-SCAN 127\.0\.0\.1: (\d+) open in [\d.]+ s: \[(.*)\]$", out, re.M)
    assert scan, out[-3000:]
    found = {int(p) for p in scan.group(2).split(",") if p.strip()}
    assert len(found) >= 16, f"the scan found {sorted(found)}: not even its own controller's ports"
    assert network_class.measured["host ports"]["127.0.0.1"] not in found
    not_own = re.search(r"^PORT-SCAN open and not this box's: \[(.*)\]$", out, re.M)
    assert not_own.group(1) == "", f"ports of 127.0.0.1 that are not the box's own answered: {not_own.group(0)}"


@needs_root
def test_binding_every_port_of_a_box_ends_nothing(network_class):
    """In the host's network the ports the binder holds are every box's: the next slots' controllers and mirrors
    find none, slots fail to start, and submissions are error rows or the run ends (issue 20: it ended)."""
    student = "a-binds-every-port"
    out = assert_attack_ran(network_class, student, "RELEASED")
    for host in ("127.0.0.1", "::1"):
        bound = re.search(rf"^BOUND {re.escape(host)}: (\d+) of the (\d+) ephemeral ports", out, re.M)
        assert bound, diagnosis(network_class, student)
        # all but those its own box's connections use (a few dozen)
        assert int(bound.group(1)) >= int(bound.group(2)) - 500, f"the attack did not take the ports: {bound.group(0)}"
    held = attempts(network_class, student, "CONNECT-WHILE-HELD")["CONNECT-WHILE-HELD"]
    assert held.startswith("BLOCKED") and "Cannot assign requested address" in held, (
        f"with every port bound the box could still connect ({held}): the attack did not bite")
    assert attempts(network_class, student, "CONNECT-AFTER")["CONNECT-AFTER"].startswith("OK")
    run = network_class.run
    recorded = {s for s, _ in run.results}
    assert recorded >= set(network_class.students), f"recorded {sorted(run.results)}\n{run.output[-3000:]}"
    assert "cluster failed" not in run.output and "could not start" not in run.output, run.output[-3000:]
    assert run.r(student).status == "graded", diagnosis(network_class, student)


@needs_root
def test_network_class_costs_nobody_else(network_class):
    assert_costs_nobody_else(network_class)


# -- 3. the box's own mirror: what it lists, downloads under others' tokens, thousands of idle connections -----------

FD_SETSIZE = 1024  # select() fails on a descriptor past this: the grader's must stay below it


def _descriptors() -> int:
    return len(os.listdir("/proc/self/fd"))


@pytest.fixture(scope="module")
def mirror_class():
    most, done = [_descriptors()], threading.Event()

    def watch():  # the grader's (this process's) open files while the class is graded
        while not done.wait(0.02):
            most.append(_descriptors())

    watcher = threading.Thread(target=watch, daemon=True)
    with course_folder(exercises=(TOY, NGRAMS)) as course:
        students = chosen("floods-the-mirror", "replays-mirror-tokens")
        for name in ("m-ngrams", "n-ngrams"):  # downloading while the attacks run
            students[name] = {NGRAMS: fixture("good-07")}
        watcher.start()
        try:
            sealed = course.grade(students, timeout=60)
        finally:
            done.set()
            watcher.join()
    sealed.measured["descriptors"] = max(most)
    return sealed


@needs_root
def test_the_mirror_lists_only_the_box_own_downloads(mirror_class):
    """With one mirror for the run (issue 20, or --no-sandbox) SERVED-LISTED shows the neighbours' downloads and
    tokens, REPLAYED downloads under them, and a neighbour's q2 hidden test sees downloads it did not make."""
    student = "a-replays-mirror-tokens"
    out = assert_attack_ran(mirror_class, student, "REPLAYED")
    listed = json.loads(re.search(r"^SERVED-LISTED (\{.*\})$", out, re.M).group(1))
    replayed = json.loads(re.search(r"^REPLAYED (\{.*\})$", out, re.M).group(1))
    made_up = attempts(mirror_class, student, "DOWNLOAD-UNDER-A-MADE-UP-TOKEN")
    assert made_up and all(v.startswith("OK") for v in made_up.values()), made_up
    assert set(listed["tokens"]) <= set(listed["own"]), f"the mirror listed others' downloads: {listed}"
    assert listed["records"] == 6, f"the mirror listed {listed['records']} downloads, the box made 6: {listed}"
    assert replayed == {}, f"downloaded under others' tokens: {replayed}"
    for student in ("m-ngrams", "n-ngrams"):
        r = mirror_class.run.r(student, NGRAMS)
        assert r.total == r.possible == 10, diagnosis(mirror_class, student, NGRAMS)


@needs_root
def test_thousands_of_idle_connections_wait_on_the_box_own_mirror(mirror_class):
    """With the mirror in the grader the grader accepts the flood: it held 2,619 files in a run graded so."""
    student = "a-floods-the-mirror"
    out = assert_attack_ran(mirror_class, student, "FLOOD")
    flood = json.loads(re.search(r"^FLOOD (\{.*\})$", out, re.M).group(1))
    assert flood["opened"] == 12_500 and flood["established"] > 0, flood
    after = attempts(mirror_class, student, "MIRROR-AFTER-FLOOD")["MIRROR-AFTER-FLOOD"]
    assert after.startswith("OK"), f"the box's mirror did not serve after the flood: {after}"
    assert mirror_class.measured["descriptors"] < FD_SETSIZE, (
        f"the grader held {mirror_class.measured['descriptors']} files while a box flooded its mirror")


@needs_root
def test_mirror_class_costs_nobody_else(mirror_class):
    assert_costs_nobody_else(mirror_class)


# -- 5. the grader's memory and a submission's time are bounded ------------------------------------------------------

BOUNDED = dict(timeout=8, budget=20)
CELL_SLEEP = BOUNDED["timeout"] + 0.5  # each of the 20 cells: just past --timeout


@pytest.fixture(scope="module")
def bounds_class():
    with course_folder() as course:
        before = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * 1024
        started = time.monotonic()
        sealed = course.grade(chosen("two-million-statements", "sleeps-past-timeout"),
                              {"@CELL_SLEEP@": str(CELL_SLEEP)}, **BOUNDED)
        sealed.measured["seconds"] = time.monotonic() - started
        sealed.measured["peak growth"] = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * 1024 - before
    return sealed


@needs_root
def test_a_cell_of_two_million_statements_costs_the_grader_little_memory(bounds_class):
    """The grader's scan parsed every cell: about 3 GB for this one (4.9 GB for issue 20's)."""
    student = "a-two-million-statements"
    r = bounds_class.r(student)
    assert r.status == "graded", diagnosis(bounds_class, student)
    assert_q1_passed(bounds_class, student)
    cells = bounds_class.run.executed[(student, TOY)]["cells"]
    big = [c for c in cells if "TWO-MILLION-STATEMENTS" in text_of(c["source"])]
    assert len(big) == 1 and big[0].get("execution_count"), "the cell was not sent to the kernel (it ran out of memory)"
    assert bounds_class.measured["peak growth"] < 2**30, (
        f"the grader's peak memory grew by {bounds_class.measured['peak growth'] / 2**30:.1f} GiB grading a 4 MB cell")


@needs_root
def test_a_submission_ends_at_its_time_budget(bounds_class):
    """Without a budget all 20 cells run, each to --timeout: over 100 s for one submission."""
    student = "a-sleeps-past-timeout"
    r = bounds_class.r(student)
    assert r.status == "graded", diagnosis(bounds_class, student)
    assert f"time budget of {BOUNDED['budget']:g} s" in r.message, diagnosis(bounds_class, student)
    assert_q1_passed(bounds_class, student)
    ran = re.findall(r"^SLEEPING-CELL (\d+)$", stdout(bounds_class, student), re.M)
    most = BOUNDED["budget"] // BOUNDED["timeout"] + 1
    assert 1 <= len(ran) <= most, f"{len(ran)} of the 20 cells ran with a budget of {BOUNDED['budget']} s"
    took = (datetime.fromisoformat(r.finished) - datetime.fromisoformat(r.started)).total_seconds()
    assert took <= BOUNDED["budget"] + 15, f"the submission took {took:.0f} s with a budget of {BOUNDED['budget']} s"
    assert bounds_class.measured["seconds"] < 0.5 * 20 * BOUNDED["timeout"], (
        f"the class took {bounds_class.measured['seconds']:.0f} s; 20 cells past --timeout alone would take "
        f"{20 * BOUNDED['timeout']} s")


@needs_root
def test_bounds_class_costs_nobody_else(bounds_class):
    assert_costs_nobody_else(bounds_class)


# -- the sealing check itself: it can fail, it passes on a real box, and grading follows what it says ----------------

PROBE = "import sys; from procbox.sealing import probe_main; probe_main(sys.argv[1:])"


@needs_root
def test_the_probe_run_outside_a_box_reports_what_a_box_hides(tmp_path):
    """check_sealed's probe, run in a plain process (no box) with the arguments check_sealed gives it, sees the
    instructor's files, writes where a box may not and reaches the host's listener: the check can fail."""
    listener = _host_listener(socket.AF_INET, "127.0.0.1")
    port = listener.getsockname()[1]
    nonce = f"procbox-probe-{secrets.token_hex(8)}"
    problems = []
    try:
        with course_folder() as course:
            policy = BoxPolicy(hide=grade.instructor_paths(course.source, course.subs, course.book))
            out = tmp_path / "probe.json"
            args = probe_args(policy, tmp_path, nonce, out, [listener])
            subprocess.run([sys.executable, "-c", PROBE, json.dumps(args)], check=True, timeout=120, cwd=tmp_path)
            problems = json.loads(out.read_text())["problems"]
    finally:
        listener.close()
        problems += written_on_host(nonce)  # (and removes them)
    text = "\n".join(problems)
    for path in (course.book, course.grades_csv, course.feedback.parent.parent, course.report, ROOT / ".git",
                 ROOT / "exercises"):
        assert f"files: {path}" in text, f"the probe did not see {path}:\n{text}"
    assert f"network: the box reached the grader's 127.0.0.1 port {port}" in problems, text
    assert "files: the box can write in /" in problems, text
    for folder in {os.path.realpath(f) for f in BOX_WRITES}:  # (/var/lock is the host's /run/lock: one file)
        assert f"files: {folder}/{nonce}, written in the box, is on the host" in text, text


@needs_root
def test_the_sealing_check_finds_a_real_box_sealed(tmp_path):
    os.chmod(tmp_path, 0o711)
    before = marked()
    lease, server = UidLease(), ForkServer(env=minimal_env())
    try:
        with course_folder() as course:
            policy = BoxPolicy(hide=[*grade.instructor_paths(course.source, course.subs, course.book), tmp_path])
            assert policy.own_network and len(policy.hide) > 10, policy.hide
            problems = check_sealed(server, policy, tmp_path / "probe", uid=lease.uid, gid=lease.gid)
    finally:
        server.close()
        lease.release()
        leaks = reap_new(before)
    assert problems == []
    assert not leaks, "processes left by the sealing check (killed now):\n" + "\n".join(leaks)


@pytest.fixture
def course_in_the_installation():
    """A course folder inside the Python installation, which every box must see: its paths can only be covered,
    and a cover shows in the box's mount table (and a file covered by /dev/null can be opened)."""
    with course_folder(parent=Path(sys.prefix).resolve()) as course:
        yield course


@needs_root
def test_a_sandbox_that_cannot_hold_grades_nothing(course_in_the_installation):
    course = course_in_the_installation
    run = grade_class(course.folder, {"z-good": {TOY: fixture("good")}}, source=course.source, book=course.book,
                      workers=2, timeout=30)
    assert run.rc == 1, run.output[-3000:]
    assert "refusing to grade" in run.output, run.output[-3000:]
    assert f"files: the box's mount table names {course.source}" in run.output, run.output[-3000:]
    assert set(run.results) == {("m-classmate", TOY)}, "graded although the sandbox does not hold"
    assert_no_leaks(run)


@needs_root
def test_without_the_sandbox_every_row_says_so(course_in_the_installation):
    course = course_in_the_installation
    run = grade_class(course.folder, {"z-good": {TOY: fixture("good")}, "z-good-2": {TOY: fixture("good")}},
                      source=course.source, book=course.book, workers=2, timeout=30, sandbox=False)
    assert run.rc == 0, run.output[-3000:]
    for student in ("z-good", "z-good-2"):
        r = run.r(student)
        assert r.total == 5 and r.flags == [grading.UNSEALED], (r.total, r.flags)
    assert_no_leaks(run)
