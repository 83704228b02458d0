"""procbox.liveness.answering: engines count as answering once a no-op sent through each of the controller's queues
(direct and load-balanced) has run; a no-op a queue dropped is sent again, and an engine that never answers is left
out when time runs out.  First with a stand-in client whose queues drop what they are told to (no cluster can be
made to drop a message on demand), then with a real cluster whose engine is stopped and let go again."""

import os
import signal
import threading
import time

import pytest

from procbox import liveness
from procbox.liveness import answering


class Result:
    """An AsyncResult's ready(): set by the queue that carries it, or never (dropped)."""

    def __init__(self):
        self.done = threading.Event()

    def ready(self):
        return self.done.is_set()


class Queue:
    """One of the controller's queues for one engine: answers after ``delay`` s, except the first ``drop`` messages,
    which it loses; an engine that is ``dead`` answers nothing."""

    def __init__(self, log, drop=0, delay=0.01, dead=False):
        self.log, self.drop, self.delay, self.dead = log, drop, delay, dead

    def apply_async(self, f):
        assert f is int  # a no-op: whatever runs it twice, or late, changes nothing
        self.log.append(self)
        result = Result()
        if self.drop:
            self.drop -= 1
        elif not self.dead:
            threading.Timer(self.delay, result.done.set).start()
        return result


class Client:
    def __init__(self, direct, balanced):
        self.direct, self.balanced = direct, balanced

    def __getitem__(self, i):
        return self.direct[i]

    def load_balanced_view(self, targets):
        (i,) = targets
        return self.balanced[i]


@pytest.fixture
def quick(monkeypatch):
    monkeypatch.setattr(liveness, "FIRST_PATIENCE", 0.05)
    monkeypatch.setattr(liveness, "MOST_PATIENCE", 0.2)


def test_a_no_op_a_queue_dropped_is_sent_again_until_the_engine_answers(quick):
    log = []
    direct = {0: Queue(log), 1: Queue(log, drop=2)}
    balanced = {0: Queue(log, drop=1), 1: Queue(log)}
    assert answering(Client(direct, balanced), [0, 1], timeout=10) == {0, 1}
    assert log.count(direct[1]) == 3 and log.count(balanced[0]) == 2  # sent again after each loss
    assert log.count(direct[0]) == 1  # not again once answered: no engine is sent more than it needs


def test_an_engine_that_never_answers_is_left_out_when_time_runs_out(quick):
    log = []
    client = Client({0: Queue(log), 1: Queue(log, dead=True)}, {0: Queue(log), 1: Queue(log)})
    t0 = time.monotonic()
    assert answering(client, [0, 1], timeout=1.0) == {0}
    assert 1.0 <= time.monotonic() - t0 < 3


def test_a_real_engine_counts_once_it_runs_a_no_op_through_each_queue(tmp_path):
    """A stopped engine is not answering; let go, it answers (its no-ops waited for it, or were sent again)."""
    from procbox.cluster import LocalCluster

    with LocalCluster(n=2, ipython_dir=tmp_path / "ipython", nanny=False) as cluster:
        rc = cluster.client(30)
        try:
            assert answering(rc, rc.ids, timeout=30) == {0, 1}
            pid = rc[1].apply_sync(os.getpid)
            os.kill(pid, signal.SIGSTOP)
            try:
                assert answering(rc, [0, 1], timeout=2) == {0}
            finally:
                os.kill(pid, signal.SIGCONT)
            assert answering(rc, [0, 1], timeout=30) == {0, 1}
        finally:
            rc.close()
