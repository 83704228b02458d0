"""Launchers for clusters that start reliably: engines that count as started once the controller has registered
them and they answer, and a controller on ports no one else takes.

``with ipp.Cluster(n=N) as rc:`` runs ``Cluster.start_and_connect``: it starts a controller and N
engines, connects a client at once, and waits on that client for N engines.  In ipyparallel 9.2 the
client can miss an engine whose registration lands while it connects:

- the controller's reply to the client's connection request lists the engines registered so far, and
  the client subscribes to the controller's registration announcements only after that reply (an
  announcement published in between is dropped: ZeroMQ's "slow joiner");
- ``Client.wait_for_engines`` counts the engines it knows, then registers the callback that hears new
  ones (an engine announced in between is heard, but nobody tells the waiter).

Either way the wait runs to ``Cluster.engine_timeout`` (60 s) and then fails with ``TimeoutError``
or returns late.  It is rare on an idle machine and not the script's fault.

:class:`RegisteredEngineSetLauncher` closes both windows.  It starts engines as ipyparallel's local
launcher does, and its ``start`` returns only once the controller has registered ``n`` engines it had
not registered before (asking the controller afresh each time, never through announcements), so the
client that ``start_and_connect`` makes next gets all of them in its connection reply and
``wait_for_engines`` returns at once.  ``restart_engines`` uses ``start`` too: it returns once the
new engines are registered.

A controller also registers engines when one of its queues (processes of their own) died as it
started: ipyparallel picks its ports by binding port 0 and letting go, binds them for real a moment
later, and in between any other process may take one (every outgoing connection is given such a
port).  The queue dies ("Address already in use" in the controller's log) and a task sent through it
is waited for for ever (or the heart monitor dies, and no engine ever registers): lesson 22's script
hung so twice in some 80 runs, six clusters starting at once on one machine.
:class:`HeldPortsControllerLauncher` starts the controller on a block of ports below the kernel's
ephemeral range (no connection is given one), held for it until it stops, in this process and with
a lock file other processes respect (:func:`procbox.ports.reserve_port_block`, what the course's own
clusters use).  And
:class:`RegisteredEngineSetLauncher`'s ``start`` waits until each new engine has run a no-op sent
through each queue (:func:`procbox.liveness.answering`), so a cluster that cannot work fails its
start, naming the logs, instead of hanging on its first task.  Choose both in a profile's
``ipcluster_config.py``::

    c.Cluster.controller_launcher_class = "course.launchers.HeldPortsControllerLauncher"
    c.Cluster.engine_launcher_class = "course.launchers.RegisteredEngineSetLauncher"

or with ``ipp.Cluster(controller_launcher_class=..., engine_launcher_class=...)``.  The project registers
them as the ``ipyparallel.controller_launchers`` entry point ``held-ports`` and the
``ipyparallel.engine_launchers`` entry point ``registered`` (pyproject.toml), the names a cluster file
records, so that ``Cluster.from_file`` finds them again in any process.  Lesson 22 and its exercise give
the clusters they start (and the scripts the exercise runs) these launchers.
"""

from __future__ import annotations

import asyncio
import json
import os
import time

import ipyparallel as ipp
from ipyparallel.cluster.launcher import LocalControllerLauncher, LocalEngineSetLauncher
from traitlets import Float

from procbox.liveness import answering
from procbox.ports import controller_ports_arg, release_port_block, reserve_port_block


class HeldPortsControllerLauncher(LocalControllerLauncher):
    """Start the controller as ipyparallel's local launcher does, on a block of ports held for it until it stops
    (:func:`procbox.ports.reserve_port_block`: below the kernel's ephemeral range, and not another cluster's)."""

    _held: int | None = None  # the first port of the block held for this launcher's controller

    def start(self):
        self._held = reserve_port_block()  # None where there is no room: ipyparallel's own choice, as without it
        if self._held is None:
            return super().start()
        self.controller_args = [*self.controller_args, controller_ports_arg(self._held)]
        try:
            started = super().start()
        except BaseException:
            self._release()
            raise
        self.on_stop(lambda _stopped: self._release())  # a controller that ends by itself: heard a moment later
        return started

    async def stop(self):
        try:
            return await super().stop()  # returns once the controller has exited (killed if it had to be)
        finally:
            self._release()

    def _release(self) -> None:
        release_port_block(self._held)
        self._held = None


class EnginesNotRegistered(RuntimeError):
    """The engines a launcher started did not all register with the controller."""


class RegisteredEngineSetLauncher(LocalEngineSetLauncher):
    """Start engines as the local launcher does; ``start`` returns once the controller has registered them and each
    has answered through the controller's queues."""

    registration_timeout = Float(
        120.0, config=True,
        help="Seconds start() waits for the controller to register the engines it started (and for them to "
             "answer through its queues), then raises "
             "EnginesNotRegistered (an engine that exits before it registers raises at once).")
    poll_interval = Float(0.1, config=True, help="Seconds between two questions to the controller.")

    @property
    def connection_file(self) -> str:
        """The controller's connection file for clients, where this launcher's profile and cluster id put it."""
        name = f"ipcontroller-{self.cluster_id}-client.json" if self.cluster_id else "ipcontroller-client.json"
        return os.path.join(self.profile_dir, "security", name)

    def _client(self) -> ipp.Client | None:
        """A new client of the controller (close it); None while there is no controller to ask (no connection file
        yet, or no reply in 5 s)."""
        try:
            with open(self.connection_file) as f:
                info = json.load(f)
        except (OSError, ValueError):  # not written yet, or being written
            return None
        try:
            return ipp.Client(info, timeout=5)
        except (OSError, TimeoutError):
            return None

    def registered(self) -> set[int] | None:
        """The ids of the engines the controller has registered now, from its reply to a new client's connection
        request; None while there is no controller to ask."""
        client = self._client()
        if client is None:
            return None
        try:
            return set(client.ids)
        finally:
            client.close()

    def answering(self, ids: set[int], timeout: float) -> set[int]:
        """The engines of ``ids`` that run a no-op sent through each of the controller's queues within ``timeout`` s
        (:func:`procbox.liveness.answering`: a queue that died at the start never answers)."""
        client = self._client()
        if client is None:
            return set()
        try:
            return answering(client, ids, timeout)
        finally:
            client.close()

    def start(self, n):
        before = self.registered() or set()  # a restart's old engines may still be registered
        started = super().start(n)
        return self._until_registered(before, n, started)

    async def _until_registered(self, before: set[int], n: int, started):
        deadline = time.monotonic() + self.registration_timeout
        new: set[int] = set()
        while True:
            now = self.registered()
            if now is not None and len(now - before) >= n:
                new = now - before  # registered; and in the queues? (asked in a thread: this is the cluster's loop)
                wait = min(15.0, max(0.1, deadline - time.monotonic()))
                if await asyncio.to_thread(self.answering, new, wait) >= new:
                    return started
            ended = self.stop_data.get("engines") or {}
            if ended:
                raise EnginesNotRegistered(
                    f"{len(ended)} of the {n} engines started in {self.profile_dir} exited before the controller "
                    f"registered them (exit codes {[e.get('exit_code') for e in ended.values()]}); their logs are in "
                    f"{os.path.join(self.profile_dir, 'log')}")
            if time.monotonic() > deadline:
                raise EnginesNotRegistered(
                    f"the controller of {self.profile_dir} registered {len((now or set()) - before)} of the {n} "
                    f"engines started in {self.registration_timeout:.0f} s"
                    + (" but they did not all answer through its queues" if new else "")
                    + f"; their logs are in {os.path.join(self.profile_dir, 'log')}")
            await asyncio.sleep(self.poll_interval)
