"""Start cluster processes and kernels by forking one that has already imported what they need.

Starting a controller, four engines and a kernel as new Python processes costs
about 4 CPU-seconds, nearly all of it importing ipyparallel, ipykernel (with
debugpy), IPython, zmq and numpy six times over.  The fork server imports them
once; every controller, engine and kernel after that is a ``fork()`` of it, a
fresh process with nothing of any earlier one, ready in a fraction of the time
(``benchmarks/cluster_start.py``, ``benchmarks/profile_grading.py``).

Protocol: one :class:`procbox.messages.SpawnRequest` per line on the server's stdin, one
:class:`procbox.messages.Started` line back.  The server dies with its owner, and each child
with the server (parent-death signals), so nothing outlives a crash.
"""

from __future__ import annotations

import json
import os
import selectors
import subprocess
import sys
import threading
import time
from typing import IO

from procbox._launch import child_main, die_with_parent, resolve, start_session
from procbox.messages import BoxSpec, SpawnRequest, Started
from procbox.syscalls import reap_children


class ForkServer:
    """The client side: a server process owned by this one."""

    def __init__(self, preexec_fn=None, env: dict | None = None):
        self.proc = subprocess.Popen(
            [sys.executable, "-m", "procbox.forkserver"], stdin=subprocess.PIPE, stdout=subprocess.PIPE, env=env,
            start_new_session=True, preexec_fn=preexec_fn, text=True, bufsize=1)
        assert self.proc.stdin is not None and self.proc.stdout is not None  # both PIPEs
        self._stdin: IO[str] = self.proc.stdin
        self._stdout: IO[str] = self.proc.stdout
        self._lock = threading.Lock()
        ready = self._stdout.readline()
        if json.loads(ready or "{}").get("ready") is not True:
            raise RuntimeError(f"the fork server did not start (it said {ready!r})")

    @property
    def pid(self) -> int:
        return self.proc.pid

    def spawn(self, role: str, argv: list[str], *, env: dict, cwd: str, log: str, jail: list[str] | None = None,
              box: BoxSpec | None = None) -> int:
        """Fork ``role`` (controller, engine, kernel; or ``box``, a sealed box's parent: see :mod:`procbox.box`)."""
        request = SpawnRequest(role, list(argv), dict(env), str(cwd), str(log), list(jail or []), box)
        with self._lock:
            self._stdin.write(request.line())
            line = self._stdout.readline()
        answer = Started.from_line(line) if line else Started(error="the fork server exited")
        if answer.error is not None:
            raise RuntimeError(f"the fork server could not start a {role}: {answer.error}")
        return answer.pid

    def close(self) -> None:
        if self.proc.poll() is None:
            self._stdin.close()
            try:
                self.proc.wait(5)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()
        self._stdout.close()


def _child(request: SpawnRequest) -> None:
    """In the forked child: become the requested process; never returns."""

    def body():
        start_session(request.log)
        os.environ.clear()
        os.environ.update(request.env)
        os.chdir(request.cwd)
        die_with_parent()
        if request.jail:
            from procbox import jail

            jail.enter(jail.parse(request.jail + ["--"])[0])
        from procbox._launch import run

        run(request.role, request.argv)

    child_main(body)


FORKED_ROLES = {"box": "procbox.box:run_box"}  # roles handed their whole request (by name: box uses this module)

# what kernels and engines import as the course's notebooks run (py-spy, benchmarks/profile_grading.py)
WARM_IMPORTS = (
    "course", "ipywidgets", "tqdm.auto", "numpy.ma", "numpy.random", "threadpoolctl", "cloudpickle")


def warm() -> None:
    """Do once, in the template, the first-time work every kernel and engine would otherwise repeat.

    - import what the notebooks and ipyparallel's progress bars import (``WARM_IMPORTS``; modules whose import
      the exercises test for are left out);
    - format one traceback as IPython does (its default theme): the first one in a process compiles the Python lexer's
      regular expressions (pygments, through stack_data): ~50 ms of CPU in each engine and kernel that shows an
      error; forked from here, re's cache already holds them.

    Nothing here holds state of a submission or depends on its environment (nothing is read from HOME or an
    IPython directory): the template never runs student code, and every fork starts with a copy of it as it is.
    """
    import importlib

    for name in WARM_IMPORTS:
        try:
            importlib.import_module(name)
        except Exception:  # a missing optional package only costs its import later
            pass
    try:
        from ipykernel.zmqshell import ZMQInteractiveShell
        from IPython.core import ultratb

        try:
            1 / 0  # noqa: B018 - raised on purpose: the traceback formatted below
        except ZeroDivisionError:
            info = sys.exc_info()
        # the kernels' and engines' default theme, a built-in one: listing every theme would read (and remember)
        # the user's theme folder under this process's IPython directory, not the fork's
        theme = ZMQInteractiveShell.colors.default_value
        ultratb.AutoFormattedTB(mode="Context", theme_name=theme).structured_traceback(*info)
        del info
    except Exception:  # another IPython: forks only lose the head start
        pass


def prepare_template() -> None:
    """Import once what every controller, engine and kernel imports, and :func:`warm` them: what the fork server does
    before its first fork (and what ``benchmarks/grade_vs_nbgrader.py`` does to its floor's kernels and engines, so
    that the floor's cells pay no import a fork would not pay either)."""
    os.environ.setdefault("PYDEVD_DISABLE_FILE_VALIDATION", "1")  # debugpy's warning about frozen modules
    # imported for their side effect (loaded once, here, before every fork); ruff reports an unused package at
    # its last import only, so that is where each one's noqa is
    import multiprocessing.popen_fork  # noqa: F401  (the controller forks its heart monitor with it)

    import ipykernel.debugger  # (every engine's and kernel's IPythonKernel imports it: debugpy)
    import ipykernel.ipkernel  # (the point: import once, fork many times)
    import ipykernel.kernelapp  # noqa: F401
    import ipyparallel.client.magics
    import ipyparallel.controller.app
    import ipyparallel.engine.app  # noqa: F401
    import IPython.core.completerlib  # (what a kernel imports as it starts)
    import IPython.core.debugger
    import IPython.core.oinspect
    import IPython.extensions.storemagic  # noqa: F401
    import numpy  # noqa: F401
    import pygments.formatters.html  # (what IPython imports to show a kernel's first traceback:
    import pygments.formatters.terminal256  # tens of ms per kernel, and memory a process that
    import pygments.lexers.python  # noqa: F401   has just hit its memory limit no longer has)
    import stack_data  # noqa: F401
    import tornado.platform.asyncio  # noqa: F401

    warm()


def serve() -> None:
    prepare_template()
    forked = {role: resolve(spec) for role, spec in FORKED_ROLES.items()}  # imported before the first fork
    resolve("procbox.jail:main")  # the jail of boxes that run a command

    out = sys.stdout
    print(json.dumps({"ready": True}), file=out, flush=True)
    waiting = selectors.DefaultSelector()
    waiting.register(sys.stdin, selectors.EVENT_READ)
    while True:
        reap_children()
        if not waiting.select(0.5):
            continue
        line = sys.stdin.readline()
        if not line:  # the owner is done: collect what is left, then go
            deadline = time.monotonic() + 5
            while reap_children() and time.monotonic() < deadline:
                time.sleep(0.02)
            return
        try:
            request = SpawnRequest.from_line(line)
            sys.stdout.flush()
            sys.stderr.flush()
            pid = os.fork()
        except Exception as e:
            out.write(Started(error=repr(e)).line())
            out.flush()
            continue
        if pid == 0:
            if request.role in forked:
                forked[request.role](request)
            _child(request)
        out.write(Started(pid=pid).line())
        out.flush()


if __name__ == "__main__":
    die_with_parent()
    serve()
