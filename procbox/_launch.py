"""Run an ipyparallel controller or engine, or an IPython kernel, whose forked children die with it.

    python -m procbox._launch controller|engine|kernel|verify|probe ARGS...

The controller forks its heart monitor with multiprocessing; if the controller is
killed (say, because its owner died), that child would be orphaned.  Every process
forked from here on gets a parent-death signal instead.
"""

import ctypes
import importlib
import os
import signal
import sys

PR_SET_PDEATHSIG = 1
_LIBC = ctypes.CDLL(None)  # loaded here, so a freshly forked child only makes the call


def die_with_parent() -> None:
    """Have the kernel SIGKILL this process when the thread that started it exits (Linux)."""
    _LIBC.prctl(PR_SET_PDEATHSIG, signal.SIGKILL, 0, 0, 0)


CHILD_SIGNALS = tuple(getattr(signal, name) for name in (
    "SIGCHLD", "SIGINT", "SIGTERM", "SIGHUP", "SIGPIPE", "SIGTSTP", "SIGTTIN", "SIGTTOU", "SIGUSR1", "SIGUSR2",
    "SIGQUIT"))


def start_session(log: str) -> None:
    """In a freshly forked child: a session of its own, default signal handling, no stdin, output to ``log``."""
    os.setsid()
    for sig in CHILD_SIGNALS:
        signal.signal(sig, signal.SIG_DFL)
    out = os.open(log, os.O_WRONLY | os.O_CREAT | os.O_APPEND, 0o644)
    devnull = os.open(os.devnull, os.O_RDONLY)
    os.dup2(devnull, 0)
    os.dup2(out, 1)
    os.dup2(out, 2)
    os.close(out)
    os.close(devnull)


def child_main(body) -> None:
    """Run ``body()`` as the whole life of a forked child: exit with what it returns (0 for None), its
    SystemExit code, or 1 after printing the traceback of anything else; never returns."""
    code = 1
    try:
        code = body() or 0
    except SystemExit as e:
        code = e.code if isinstance(e.code, int) else 1
    except BaseException:
        import traceback

        traceback.print_exc()
    finally:
        sys.stdout.flush()
        sys.stderr.flush()
        os._exit(code if isinstance(code, int) and 0 <= code < 256 else 1)


def fresh_random_state() -> None:
    """Reseed what a fork shares with its template: numpy's global random state (Python's ``random`` reseeds itself
    at fork).  Every kernel, engine and controller then draws its own numbers, as separately started ones do."""
    numpy = sys.modules.get("numpy")
    if numpy is not None:
        numpy.random.seed()


ROLES = {
    "verify": "procbox.liveness:check_engines",  # a boxed cluster's check of its engines, from inside its box
    "probe": "procbox.sealing:probe_main",  # the grader's sealing check, from inside a probe box
}


def resolve(spec: str):
    """The function ``module:function`` names (imported now if it was not)."""
    module, _, function = spec.partition(":")
    return getattr(importlib.import_module(module), function)


def run(role: str, argv: list[str]) -> None:
    os.register_at_fork(after_in_child=die_with_parent)
    fresh_random_state()
    if role in ROLES:  # procbox's own roles, by name: this low module imports none of the modules that use it
        resolve(ROLES[role])(argv)
        return
    if role == "kernel":  # what ``python -m ipykernel_launcher ARGS`` does
        sys.argv = ["ipykernel_launcher", *argv]
        from ipykernel.kernelapp import launch_new_instance

        launch_new_instance(argv=argv)
        return
    sys.argv = [f"ipyparallel.{role}", *argv]
    if role == "engine":
        from ipyparallel.engine.app import main
    else:
        from ipyparallel.controller.app import main
    main(argv=argv)


if __name__ == "__main__":
    run(sys.argv[1], sys.argv[2:])
