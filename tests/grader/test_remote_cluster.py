"""``grader grade --cluster``: the submissions graded on the engines of an existing ipyparallel cluster (here an
outer cluster of two engines on this machine), exactly as a local run grades them, also when an engine dies."""

from __future__ import annotations

import contextlib
import os
import shutil
import signal
import threading
from pathlib import Path

import ipyparallel as ipp
import psutil
import pytest

from grader import grade
from grader.exercise import load_exercises
from grader.gradebook import Gradebook
from grader.sample_class import make_class

ROOT = Path(__file__).resolve().parents[2]
pytestmark = [pytest.mark.cluster, pytest.mark.timeout(900)]


@pytest.fixture(scope="module")
def a_class(tmp_path_factory):
    tmp = tmp_path_factory.mktemp("remote")
    source = tmp / "src"
    source.mkdir()
    shutil.copy(ROOT / "exercises" / "05-push-and-pull-variables.ipynb", source)
    make_class(load_exercises(source), tmp / "class", students=8, seed=11)
    assert grade.main(submissions=tmp / "class", source=source, gradebook=tmp / "local.sqlite", quiet=True) == 0
    return tmp, source, grades(tmp / "local.sqlite")


def grades(path):
    with Gradebook(path) as book:
        return {(r.student, r.exercise): [(t.test, t.points, t.status) for t in r.tests] for r in book.submissions()}


def below_us() -> dict:
    """(pid, start time) -> process, for every process below this one that is still there."""
    found = {}
    for proc in psutil.Process().children(recursive=True):
        with contextlib.suppress(psutil.Error):
            found[(proc.pid, proc.create_time())] = proc
    return found


@pytest.fixture
def outer(tmp_path):
    """An ipyparallel cluster of two engines, started by ipyparallel's Cluster (with the course's launchers: its
    controller's ports held for it, which ipyparallel's own leave open to any other process between choosing and
    binding them: a queue that died there hung this test once in CI), stopped afterwards."""
    cluster = ipp.Cluster(n=2, profile_dir=str(tmp_path / "profile_outer"), log_level=40, shutdown_atexit=False,
                          controller_launcher_class="course.launchers.HeldPortsControllerLauncher",
                          engine_launcher_class="course.launchers.RegisteredEngineSetLauncher")
    # what runs below this process already (the session's cluster, say) is not this fixture's to stop
    before = set(below_us())
    cluster.start_cluster_sync()
    try:
        client = cluster.connect_client_sync()
        client.wait_for_engines(2, timeout=60)
        client.close()
        yield cluster, tmp_path / "profile_outer"
    finally:
        started = [proc for key, proc in below_us().items() if key not in before]  # its controller, engines, nannies
        cluster.stop_cluster_sync()
        gone, alive = psutil.wait_procs(started, timeout=15)
        for proc in alive:  # a nanny whose engine was killed can outlive the cluster's own stop
            proc.kill()
        psutil.wait_procs(alive, timeout=5)


def test_grading_on_the_engines_of_a_cluster_gives_the_local_grades(a_class, outer, tmp_path):
    tmp, source, local = a_class
    _, profile = outer
    book = tmp_path / "remote.sqlite"
    assert grade.main(submissions=tmp / "class", source=source, gradebook=book, cluster=str(profile), quiet=True) == 0
    assert grades(book) == local
    # resumable: a second run finds everything graded and unchanged
    assert grade.main(submissions=tmp / "class", source=source, gradebook=book, cluster=str(profile), quiet=True) == 0
    assert grades(book) == local


def test_a_submission_whose_engine_died_is_graded_again_elsewhere(a_class, outer, tmp_path, capsys):
    tmp, source, local = a_class
    cluster, profile = outer
    client = cluster.connect_client_sync()
    victim = client[1].apply_sync(os.getpid)
    client.close()
    killed = threading.Event()

    def kill_when_busy():  # once grading is under way on it, the engine dies (and everything below it)
        for _ in range(600):
            if killed.wait(0.1):
                return
            try:
                if len(psutil.Process(victim).children(recursive=True)) > 3:
                    os.kill(victim, signal.SIGKILL)
                    killed.set()
            except psutil.NoSuchProcess:
                return

    watcher = threading.Thread(target=kill_when_busy, daemon=True)
    watcher.start()
    book = tmp_path / "remote.sqlite"
    code = grade.main(submissions=tmp / "class", source=source, gradebook=book, cluster=str(profile), quiet=True)
    killed.set()
    watcher.join()
    assert code == 0
    assert "died while grading" in capsys.readouterr().err
    assert grades(book) == local


def test_a_cluster_whose_queues_died_is_refused_at_once_with_what_to_do(a_class, outer, tmp_path, capsys):
    """Engines registered with a controller whose task queues died (processes of their own; one whose port another
    process took at its start dies so) would be sent work that never runs: the run would wait for ever.  The grader
    has each engine run a no-op through the queues first, and stops, saying what to do, grading nothing."""
    tmp, source, _ = a_class
    cluster, profile = outer
    controller = psutil.Process(cluster.controller.process.pid)
    queues = controller.children()
    assert queues, "the controller runs its queues in processes of their own (ipyparallel's default)"
    for proc in queues:
        proc.kill()
    psutil.wait_procs(queues, timeout=10)
    book = tmp_path / "remote.sqlite"
    code = grade.main(submissions=tmp / "class", source=source, gradebook=book, cluster=str(profile), quiet=True)
    err = capsys.readouterr().err
    assert code != 0 and "run nothing sent through its controller's queues" in err and "restart the cluster" in err
    assert not book.exists() or grades(book) == {}
