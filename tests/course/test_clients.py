"""course.listening: a new ipyparallel Client hears its engines' output from its first task on.

ipyparallel 9's ``Client()`` returns before its output subscription reaches the
controller, so a fresh client can miss the first task's output and wait for it
for ever (``execute(block=True)``, ``%px``, ``wait_for_output()``).  The exercises'
set-up cells and tests call ``listening`` on every client they make."""

import time

import ipyparallel as ipp
import pytest

from course import listening


@pytest.mark.cluster
def test_fresh_clients_that_listened_hear_every_output(cluster):
    for i in range(40):
        client = ipp.Client(str(cluster.client_file), timeout=60)  # the controller answers late on a busy host
        try:
            assert listening(client) is client
            ar = client[:].execute(f"print('hello {i}')", silent=False)
            ar.get(10)
            assert ar.wait_for_output(5), f"client {i} missed the output of its first task after listening"
            assert ar.stdout == [f"hello {i}\n"] * len(client.ids)
        finally:
            client.close()



class _LateOutput:
    """An AsyncResult whose results are in at once and whose output is heard ``delay`` seconds after it was sent
    (never, for None): how a new client's no-ops look on a busy machine."""

    def __init__(self, delay):
        self.heard_at = None if delay is None else time.monotonic() + delay

    def get(self, timeout=None):
        return [None]

    def wait_for_output(self, timeout=-1):
        if self.heard_at is not None and time.monotonic() + timeout >= self.heard_at:
            time.sleep(max(0.0, self.heard_at - time.monotonic()))
            return True
        time.sleep(timeout)
        return False


class _Client:
    def __init__(self, delays):
        self.delays, self.sent = list(delays), []

    def __getitem__(self, key):
        return self

    def apply_async(self, f):
        self.sent.append(_LateOutput(self.delays.pop(0) if self.delays else None))
        return self.sent[-1]


def test_output_that_trails_its_results_still_counts():
    # the first no-op's output comes 1.5 s after it was sent, later than listening first waits (0.5 s), and the
    # no-ops sent after it are never heard: the client is subscribed all the same, and listening says so
    client = _Client([1.5])
    start = time.monotonic()
    assert listening(client, timeout=30) is client
    assert 1.4 < time.monotonic() - start < 5 and len(client.sent) <= 3


def test_a_client_that_hears_nothing_times_out():
    client = _Client([])
    start = time.monotonic()
    with pytest.raises(TimeoutError, match="heard no output"):
        listening(client, timeout=3)
    assert time.monotonic() - start < 6
