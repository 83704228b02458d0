"""Whether a cluster's engines are the ones it started and all answer: waiting for them to register, and the check
of their ids and PIDs (run in the grader, or inside a box by the ``verify`` role)."""

from __future__ import annotations

import contextlib
import json
import os
import time

from .processes import ClusterError

RECONNECT_AFTER = 1.0  # seconds a client waiting for engines keeps its connection (see wait_for_engines)


def await_engines(connect, n: int, timeout: float, raise_if_exited=lambda: None, log_dir="its log folder"):
    """A client (close it) once engines 0..n-1 have registered; ClusterError if time runs out.

    ``connect(timeout)`` makes a client.  A client learns of engines that register after it
    connected from the controller's notifications, which a subscription still being set up can
    miss (zmq's "slow joiner"): the client would wait for them forever.  So a client that has not
    seen every engine within a second is replaced by a new one, which gets the controller's
    current list when it connects.
    """
    deadline = time.monotonic() + timeout
    ids: str | list[int]
    rc, ids, since = None, "none (the controller did not answer)", 0.0
    try:
        while True:
            raise_if_exited()
            if time.monotonic() > deadline:
                raise ClusterError(f"engines registered in {timeout:.0f} s: {ids} of {n}; see the logs in {log_dir}")
            if rc is None:
                try:  # short attempts, so a controller that died is noticed
                    rc = connect(min(5.0, max(0.1, deadline - time.monotonic())))
                    since = time.monotonic()
                except (TimeoutError, OSError):
                    continue
            ids = sorted(rc.ids)
            if ids == list(range(n)):
                client, rc = rc, None
                return client
            if time.monotonic() - since > RECONNECT_AFTER:
                rc.close()
                rc = None
                continue
            time.sleep(0.02)
    finally:
        if rc is not None:
            rc.close()


FIRST_PATIENCE, MOST_PATIENCE = 0.5, 8.0  # seconds answering() waits for a round of no-ops: doubled each round


def answering(rc, ids, timeout: float) -> set[int]:
    """The engines of ``ids`` that have run a no-op sent through each of the controller's queues that hand out work
    (the direct one, which views like ``rc[:]`` use, and the load-balanced one), within ``timeout`` seconds.

    A controller registers an engine through its hub whether or not each queue (a process of its own) is working: a
    queue whose port was taken between ipyparallel choosing it and binding it ("Address already in use" in the
    controller's log; ipyparallel picks ports by binding port 0 and letting go) is dead, and a task sent through it
    is waited for for ever, engines idle, the hub none the wiser (lesson 22's script, six at once on one machine: once
    in some 80 runs; course.launchers.HeldPortsControllerLauncher keeps the ports from being taken). So each engine
    gets a no-op through each queue; one not back after a short wait is sent again (a queue just slow to take the
    engine's connection answers the next), waited for longer each round.  An engine counts once the last no-op sent
    through each queue has run: a queue keeps the order of what it carries, so by then every no-op sent before it
    has run (a no-op does nothing) or was lost, and none is still on its way to run in the middle of what comes
    next."""
    ids = set(ids)
    queues = {"direct": lambda i: rc[i], "load-balanced": lambda i: rc.load_balanced_view(targets=[i])}
    sent: dict[tuple[int, str], list] = {(i, q): [] for i in ids for q in queues}  # the no-ops sent, by queue
    deadline = time.monotonic() + timeout
    patience = FIRST_PATIENCE

    def heard(i: int, q: str) -> bool:  # the last one: a queue keeps the order, so none sent before is still on its way
        return bool(sent[i, q]) and sent[i, q][-1].ready()

    def answered(i: int) -> bool:
        return all(heard(i, q) for q in queues)

    while True:
        for (i, q), results in sent.items():
            if not heard(i, q):
                results.append(queues[q](i).apply_async(int))
        until = min(time.monotonic() + patience, deadline)
        while time.monotonic() < until and not all(answered(i) for i in ids):
            time.sleep(0.01)
        if all(answered(i) for i in ids) or time.monotonic() >= deadline:
            return {i for i in ids if answered(i)}
        patience = min(2 * patience, MOST_PATIENCE)


def engine_problem(rc, n: int, expected: dict, timeout: float) -> str:
    """What is wrong with the engines ``rc`` sees ("" if nothing): ids other than 0..n-1, engines that do not answer
    through the controller's queues (:func:`answering`), or PIDs (as the engines see them) other than ``expected``
    ({engine id: pid})."""
    if sorted(rc.ids) != list(range(n)):
        return f"engine ids are {sorted(rc.ids)}, expected 0..{n - 1}"
    silent = sorted(set(range(n)) - answering(rc, range(n), timeout))
    if silent:
        return f"engines {silent} did not answer through the controller's queues in {timeout:.0f} s"
    pids = rc[:].apply_async(os.getpid).get(timeout=timeout)
    if dict(zip(range(n), pids)) != expected:
        return f"engine pids {pids} are not the ones this cluster started {expected}"
    return ""


def check_engines(argv: list[str]) -> None:
    """The ``verify`` role: run in a boxed cluster's box before any student code, it waits for the engines and
    checks their ids and PIDs, and writes ``{"error": ...}`` (empty when all is well) to the file ``out``."""
    import ipyparallel as ipp

    args = json.loads(argv[0])
    expected = {int(k): v for k, v in args["expected"].items()}
    try:
        connect = lambda t: ipp.Client(args["client_file"], timeout=t)  # noqa: E731
        with contextlib.closing(await_engines(connect, args["n"], args["timeout"])) as rc:
            problem = engine_problem(rc, args["n"], expected, args["timeout"])
    except Exception as e:  # whatever went wrong is the answer
        problem = f"the engines did not answer: {e!r}"
    tmp = args["out"] + ".tmp"
    with open(tmp, "w") as f:
        json.dump({"error": problem}, f)
    os.replace(tmp, args["out"])
