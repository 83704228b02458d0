"""How a :class:`procbox.cluster.LocalCluster` starts its processes: the one seam between a cluster and the three
ways a process of this project can begin.

- :class:`Processes`: new Python processes (``python -m procbox._launch ROLE``), each in a session of its own;
  ``owned=True`` ties them to this process (they die with it, through the parent-death signal).
- :class:`Forked`: forks of a warm fork server (:mod:`procbox.forkserver`), started by this object or lent to it;
  ``jail`` (:mod:`procbox.jail` options) confines the engines and kernels it forks.
- :class:`Boxed`: processes of a sealed box (:mod:`procbox.box`), which the box ends itself when it closes.

A cluster asks its spawner to :meth:`~Spawner.open` before its first process, to :meth:`~Spawner.spawn` each
process (controller, engines, a kernel), to :meth:`~Spawner.stop` what it started, and to :meth:`~Spawner.close`
when it is done for good.  Every process a spawner starts carries its :attr:`~Spawner.token` in its environment
(``COURSE_CLUSTER_TOKEN``), so stopping also finds what those processes started, even outside their process group.
"""

from __future__ import annotations

import contextlib
import os
import subprocess
import sys
import uuid
from collections.abc import Sequence

from .forkserver import ForkServer
from .processes import TOKEN_VAR, Proc, die_with, kill_groups


class Spawner:
    """What every way of starting a cluster's processes offers (see the module's docstring)."""

    owned = True  # its processes die with this process
    own_network = False  # its processes have a network of their own (nothing else can take their ports)
    token = ""  # carried by every process it starts ("" when the processes are ended another way)
    box = None  # the procbox.box.Box its processes run in, if any

    def open(self, env: dict[str, str]) -> None:
        """Get ready to start processes whose environment will be ``env``."""

    def spawn(self, role: str, argv: list[str], *, env: dict[str, str], cwd: str, log: str,
              confine: bool = False) -> tuple[int, int | None]:
        """Start ``role`` (``python -m procbox._launch ROLE ARGV``); its PID, and its PID in its box if it is in
        one.  ``confine``: a process that runs student code (an engine, a kernel), which the spawner's jail holds."""
        raise NotImplementedError

    def stop(self, procs: list[Proc], grace: float) -> None:
        """Stop ``procs`` (this spawner's) and whatever they started; by process group and token, never by name."""
        kill_groups(procs, grace, self.token)

    def close(self) -> None:
        """Release what :meth:`open` took (after :meth:`stop`, so that it reaps what it forked)."""


class Processes(Spawner):
    """New Python processes; a fresh token per :meth:`open`."""

    def __init__(self, owned: bool = True):
        self.owned = owned
        self._popens: list[subprocess.Popen] = []

    def open(self, env: dict[str, str]) -> None:
        self.token = uuid.uuid4().hex

    def spawn(self, role, argv, *, env, cwd, log, confine=False):
        cmd = [sys.executable, "-m", "procbox._launch", role, *argv]
        with open(log, "ab") as out, open(os.devnull, "rb") as devnull:
            popen = subprocess.Popen(cmd, stdin=devnull, stdout=out, stderr=subprocess.STDOUT, env=env, cwd=cwd,
                                     start_new_session=True, preexec_fn=die_with(os.getpid()) if self.owned else None)
        self._popens.append(popen)
        return popen.pid, None

    def stop(self, procs, grace):
        super().stop(procs, grace)
        for popen in self._popens:  # reap our children so no zombie is left
            with contextlib.suppress(Exception):
                popen.wait(timeout=1)
        self._popens.clear()


class Forked(Spawner):
    """Forks of a fork server: ``server`` (lent: its owner closes it, and its environment carries ``token``) or one
    this object starts at :meth:`open` (with the cluster's environment and a token of its own) and closes."""

    def __init__(self, server: ForkServer | None = None, *, token: str = "", jail: Sequence[str] = ()):
        if server is not None and not token:
            raise ValueError("a lent fork server needs the token its environment carries")
        self.server, self._lent, self.token, self.jail = server, server is not None, token, list(jail)

    @staticmethod
    def server_for(env: dict[str, str], token: str) -> ForkServer:
        """A fork server that dies with this process, whose forks carry ``token`` (its own environment is ``env``:
        /proc shows it to anyone who may read the forks' environment, so never more than they get)."""
        return ForkServer(preexec_fn=die_with(os.getpid()), env={**env, TOKEN_VAR: token})

    def open(self, env):
        if self.server is None:
            self.token = uuid.uuid4().hex
            self.server = self.server_for(env, self.token)

    def spawn(self, role, argv, *, env, cwd, log, confine=False):
        if self.server is None:
            raise RuntimeError("the spawner is not open")
        return self.server.spawn(role, argv, env=env, cwd=cwd, log=log, jail=self.jail if confine else None), None

    def stop(self, procs, grace):
        kill_groups(procs, grace, self.token, spare=self.server.pid if self.server else None)

    def close(self):
        if self.server is not None and not self._lent:
            self.server.close()  # after the kills, so it reaps its children before it exits
            self.server = None


class Boxed(Spawner):
    """Processes of ``box`` (a :class:`procbox.box.Box`), in its namespaces, root and limits."""

    def __init__(self, box):
        self.box = box
        self.own_network = box.policy.own_network

    def spawn(self, role, argv, *, env, cwd, log, confine=False):
        return self.box.spawn(role, argv, env=env, cwd=cwd, log=log)

    def stop(self, procs, grace):
        """Nothing: the box ends every process in it when it closes (:meth:`procbox.box.Box.close`)."""
