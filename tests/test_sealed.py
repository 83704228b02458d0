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
"""

from __future__ import annotations

import ast
import contextlib
import ctypes
import inspect
import io
import json
import os
import re
import secrets
import threading
import time
from dataclasses import dataclass, field
from pathlib import Path

import psutil
import pytest

from grader import feedback, grade
from test_hardening import LEAK_GRACE, TOY, Run, _text, assert_good, assert_no_leaks, fixture, grade_class, statuses

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
    return sorted(s for s, _ in sealed.run.results if not s.startswith("a-"))


def grade_sealed(tmp: Path, students: dict, **kwargs) -> Sealed:
    """Grade ``students`` with two workers, the placeholders filled in, and find what outlived the call."""
    nonce = f"0.{secrets.randbelow(10**9):09d}"  # `sleep 600 0.NNN`: this class's sleepers and nobody else's
    fill = {"@HOST_PIDNS@": os.readlink("/proc/self/ns/pid"), "@GRADER_PID@": str(os.getpid()), "@NONCE@": nonce}
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
    return Sealed(run, tag, box_leaks, sleepers, grader_env)


def stdout(sealed: Sealed, student: str) -> str:
    """Everything the student's notebook printed to stdout, concatenated as printed."""
    nb = sealed.run.executed.get((student, TOY))
    if not nb:
        return ""
    return "".join(_text(out.get("text")) for cell in nb["cells"] if cell.get("cell_type") == "code"
                   for out in cell.get("outputs", []) if out.get("output_type") == "stream"
                   and out.get("name") == "stdout")


def errors(sealed: Sealed, student: str) -> str:
    """The errors the student's cells raised, one line each."""
    nb = sealed.run.executed.get((student, TOY)) or {"cells": []}
    return "\n".join(f"{out.get('ename')}: {str(out.get('evalue'))[:300]}" for cell in nb["cells"]
                     if cell.get("cell_type") == "code" for out in cell.get("outputs", [])
                     if out.get("output_type") == "error")


def diagnosis(sealed: Sealed, student: str) -> str:
    r = sealed.run.results.get((student, TOY))
    return (f"{student}: {r.status if r else 'no result'}, message {r.message if r else ''!r}, "
            f"flags {r.flags if r else []}, tests {statuses(r) if r else {}}; printed:\n"
            f"{stdout(sealed, student)[-3000:]}\nraised:\n{errors(sealed, student)}\n"
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
    for student in goods:
        assert_good(run, student)
        r = sealed.r(student)
        assert not r.flags, (student, r.flags)
        assert not any(names_limit(r, limit) for limit in LIMITS), (student, r.message)
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

    params = inspect.signature(grade.main).parameters
    missing = [name for name in ("memory", "max_procs", "tmp_bytes", "work_bytes") if name not in params]
    assert not missing, f"grade.main takes no {missing}"
    argv = ["grade", "subs", "--memory", "1G", "--max-procs", "256", "--tmp-size", "256M", "--work-size", "512M"]
    try:
        args = vars(build_parser().parse_args(argv))
    except SystemExit as e:
        pytest.fail(f"grader {' '.join(argv)}: rejected (exit {e.code})")
    got = {k: args.get(k) for k in ("memory", "max_procs", "tmp_bytes", "work_bytes")}
    assert got == {"memory": 2**30, "max_procs": 256, "tmp_bytes": 256 * MIB, "work_bytes": 512 * MIB}, got
    assert vars(build_parser().parse_args(["grade", "subs", "--memory", str(2**30)]))["memory"] == 2**30
