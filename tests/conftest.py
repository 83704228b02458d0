"""Shared fixtures: one 4-engine cluster and one n-gram mirror for the session, and a leak check at the end.

Every process the suite starts inherits ``COURSE_TEST_RUN``; after the run, any
process still carrying it is reported (and stopped by PID), failing the run.
With pytest-xdist, each worker's processes also carry the worker's name
(``PYTEST_XDIST_WORKER``), so a test that looks for what *it* left behind does
not see the other worker's processes.
"""

from __future__ import annotations

import os
import signal
import sys
import time
import uuid
from pathlib import Path

import psutil
import pytest

from course.startup import skip_slow_format_checkers

skip_slow_format_checkers()  # as the project's commands do: a second less of CPU for each pytest process
ROOT = Path(__file__).resolve().parents[1]
MARKER = "COURSE_TEST_RUN"
WORKER = "PYTEST_XDIST_WORKER"  # set by pytest-xdist in each worker, so inherited by what the worker starts
os.environ.setdefault(MARKER, uuid.uuid4().hex)


# The test files that take longest (wall seconds in a full run on two cores, about: 380, 260, 170 ...), longest first.
# pytest-xdist hands each worker one file at a time in collection order (``--no-loadscope-reorder`` in
# pyproject.toml: not by number of tests), and these come first, so that no long file starts late and ends the run
# alone while the other workers wait; the others follow in pytest's order.  tests/test_environment.py checks that
# each is a test file.
LONGEST_FIRST = (
    "tests/grader/test_nbgrader_course.py",
    "tests/course/test_notebooks.py",
    "tests/grader/test_shortcuts_2.py",
    "tests/grader/test_shortcuts_3.py",
    "tests/grader/test_sealed.py",
    "tests/grader/test_shortcuts_1.py",
    "tests/course/test_pytest_ipp.py",
    "tests/grader/test_grader.py",
    "tests/grader/test_hardening.py",
    "tests/procbox/test_cluster.py",
    "tests/grader/test_hostile_pages.py",
    "tests/grader/test_remote_cluster.py",
    "tests/course/test_jupyterlab.py",
    "tests/procbox/test_mpi_slurm.py",
    "tests/grader/test_submission_hardening.py",
)


def pytest_collection_modifyitems(session, config, items):
    rank = {name: i for i, name in enumerate(LONGEST_FIRST)}
    items.sort(key=lambda item: rank.get(item.nodeid.split("::", 1)[0], len(rank)))  # stable: a file stays whole


def pytest_configure(config):
    # Grader and kernels must not pick up the developer's own IPython profile.
    os.environ.pop("JPY_SESSION_NAME", None)


@pytest.fixture(scope="session")
def cluster(tmp_path_factory):
    """The session's 4-engine cluster, in its own IPYTHONDIR."""
    from procbox.cluster import LocalCluster

    with LocalCluster(ipython_dir=tmp_path_factory.mktemp("ipython")) as c:
        yield c


@pytest.fixture(scope="session")
def mirror():
    from course.data import start_mirror

    with start_mirror() as m:
        yield m


@pytest.fixture
def rc(cluster):
    client = cluster.client()
    yield client
    client.close()


def leftover_processes(this_worker: bool = False) -> list[psutil.Process]:
    """Live processes carrying this run's marker (and with ``this_worker``, this xdist worker's name), and
    processes of the sealed boxes' uids descended from this process (student code runs with a minimal
    environment, without the marker; another test session's boxes on the same machine are not ours)."""
    from procbox.resources import UID_BASE, UID_COUNT

    me, worker = os.getpid(), os.environ.get(WORKER)
    found = []
    for proc in psutil.process_iter(["pid", "uids"]):
        if proc.pid == me:
            continue
        try:
            if proc.status() == psutil.STATUS_ZOMBIE:
                continue
            uids = proc.info["uids"]
            if uids and UID_BASE <= uids.real < UID_BASE + UID_COUNT:
                if any(parent.pid == me for parent in proc.parents()):
                    found.append(proc)
                continue
            env = proc.environ()
            if env.get(MARKER) != os.environ[MARKER] or (this_worker and env.get(WORKER) != worker):
                continue
            found.append(proc)
        except psutil.Error:
            continue
    return found


@pytest.hookimpl(hookwrapper=True)
def pytest_runtest_makereport(item, call):
    """In CI (``CI`` set, as CI services do), a skipped test fails: a skip there proves nothing.

    The only skips are for what no package can install: root, kernel namespaces, writable cgroups
    (tests/procbox/test_box.py, test_sealed.py, test_hardening.py, test_grader.py); CI runs as root on Linux."""
    outcome = yield
    report = outcome.get_result()
    if os.environ.get("CI") and report.skipped and not hasattr(report, "wasxfail"):
        reason = report.longrepr[2] if isinstance(report.longrepr, tuple) else str(report.longrepr)
        report.outcome = "failed"
        report.longrepr = f"skipped in CI ({reason}): run the tests as root on Linux with namespaces and cgroups"


def pytest_sessionfinish(session, exitstatus):
    from procbox.processes import TOKEN_VAR

    if os.environ.get(WORKER):  # the controller checks once every worker is done
        return
    left = leftover_processes()
    if not left:
        return
    lines = []
    for proc in left:
        try:
            env = proc.environ()
            age = time.time() - proc.create_time()
            lines.append(f"  pid {proc.pid} (started {age:.0f} s ago, parent {proc.ppid()}, IPYTHONDIR "
                         f"{env.get('IPYTHONDIR')}, token {env.get(TOKEN_VAR)}): {' '.join(proc.cmdline())[:200]}")
            proc.send_signal(signal.SIGKILL)
        except psutil.Error:
            pass
    sys.stderr.write("\nLEAK: these processes started by the tests were still running (now killed):\n"
                     + "\n".join(lines) + "\n")
    session.exitstatus = 1
