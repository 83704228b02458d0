"""Run an ipyparallel controller or engine, or an IPython kernel, whose forked children die with it.

    python -m procbox._launch controller|engine|kernel ARGS...

The controller forks its heart monitor with multiprocessing; if the controller is
killed (say, because its owner died), that child would be orphaned.  Every process
forked from here on gets a parent-death signal instead.
"""

import ctypes
import os
import signal
import sys

PR_SET_PDEATHSIG = 1
_LIBC = ctypes.CDLL(None)  # loaded here, so a freshly forked child only makes the call


def die_with_parent() -> None:
    """Have the kernel SIGKILL this process when the thread that started it exits (Linux)."""
    _LIBC.prctl(PR_SET_PDEATHSIG, signal.SIGKILL, 0, 0, 0)


def run(role: str, argv: list[str]) -> None:
    os.register_at_fork(after_in_child=die_with_parent)
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
