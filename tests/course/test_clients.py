"""course.listening: a new ipyparallel Client hears its engines' output from its first task on.

ipyparallel 9's ``Client()`` returns before its output subscription reaches the
controller, so a fresh client can miss the first task's output and wait for it
for ever (``execute(block=True)``, ``%px``, ``wait_for_output()``).  The exercises'
set-up cells and tests call ``listening`` on every client they make."""

import ipyparallel as ipp
import pytest

from course import listening

pytestmark = pytest.mark.cluster


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

