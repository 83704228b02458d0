"""Engines that count as started once the controller has registered them.

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
``wait_for_engines`` returns at once.  And a cluster that cannot work fails its start instead of
its first task: a controller registers engines even when one of its queues died at its start (its port
taken by another process in the moment between ipyparallel choosing it and binding it, which several
clusters started at once on one machine make likely), and the script's first ``map_sync`` would wait
for ever.  ``start`` also waits until each new engine has run a no-op sent through each queue
(:func:`procbox.liveness.answering`, which sends again what is not answered).  ``restart_engines`` uses
``start`` too: it returns once the new engines are registered and answer.  Choose it in a profile's
``ipcluster_config.py``::

    c.Cluster.engine_launcher_class = "course.launchers.RegisteredEngineSetLauncher"

or with ``ipp.Cluster(engine_launcher_class=...)``.  The project registers it as the ``ipyparallel.engine_launchers``
entry point ``registered`` (pyproject.toml), the name a cluster file records, so that ``Cluster.from_file`` finds it
again in any process.  The exercise of lesson 22 gives the clusters its
tests start (and the scripts it runs) this launcher.
"""

from __future__ import annotations

import asyncio
import json
import os
import time

import ipyparallel as ipp
from ipyparallel.cluster.launcher import LocalEngineSetLauncher
from traitlets import Float

from procbox.liveness import answering


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
        (:func:`procbox.liveness.answering`: a queue may drop a task for an engine just registered)."""
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
