"""What the kernel guard's restore() and check() cost per test cell (grader/kernel_guard.py).

    python benchmarks/guard_restore.py [--repeat 200]

Loads the guard as the grader does (its source, exec'd into a module of its own) into an IPython shell in
this process, with what a graded kernel has imported (ipyparallel, numpy, IPython, ipykernel) and every
module the exercises' locked cells import (grader.protect), then times restore() and check() as they run
before and after each test cell: with nothing to repair, and with one patch of an ipyparallel submodule to
put back.  It prints how much the guard keeps (modules, attributes, classes), and the same figures with
numpy's submodules all kept (what SHALLOW avoids).
"""

from __future__ import annotations

import argparse
import statistics
import sys
import time
import types
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))


def load_guard(shallow: bool) -> types.ModuleType:
    guard = types.ModuleType("_grader_guard")
    exec((ROOT / "grader" / "kernel_guard.py").read_text(), guard.__dict__)
    if not shallow:
        guard.SHALLOW = tuple(p for p in guard.SHALLOW if p != "numpy")
    return guard


def timed(call, repeat: int) -> tuple[float, float]:
    """(median, 90th percentile) of ``call()``'s wall time in milliseconds."""
    times = []
    for _ in range(repeat):
        t0 = time.perf_counter()
        call()
        times.append((time.perf_counter() - t0) * 1000)
    times.sort()
    return statistics.median(times), times[int(len(times) * 0.9)]


def measure(shallow: bool, repeat: int, modules: list[str], shell) -> None:
    guard = load_guard(shallow)
    guard.install(shell)
    guard.rely(__import__("json").dumps(modules))
    names = ["_rc", "_time", "_ids", "_engine_pids"]
    for name in names:
        shell.user_ns[name] = object()
    guard.hold(names)
    kept = guard._modules
    attributes = sum(len(saved) for _, saved, _, _ in kept.values())
    class_attributes = sum(len(saved) for saved in guard._classes.values())
    numpy_modules = sum(1 for name in kept if name == "numpy" or name.startswith("numpy."))
    ipp_modules = sum(1 for name in kept if name == "ipyparallel" or name.startswith("ipyparallel."))
    label = "numpy: only the submodules named" if shallow else "numpy: every loaded submodule"
    print(f"{label}: {len(kept)} modules kept ({ipp_modules} ipyparallel, {numpy_modules} numpy), "
          f"{attributes} module attributes, {len(guard._classes)} classes ({class_attributes} class attributes)")
    guard.restore(names)
    median, p90 = timed(lambda: guard.restore(names), repeat)
    print(f"  restore(names), nothing to repair:   median {median:.2f} ms, 90% {p90:.2f} ms")
    median, p90 = timed(lambda: guard.check(names, []), repeat)
    print(f"  check(names), nothing changed:       median {median:.2f} ms, 90% {p90:.2f} ms")
    import ipyparallel.client.client as client_module
    real = client_module.Client

    def patched():
        client_module.Client = object
        guard.restore(names)
        assert client_module.Client is real

    median, p90 = timed(patched, repeat)
    print(f"  restore(names), one patch put back: median {median:.2f} ms, 90% {p90:.2f} ms")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeat", type=int, default=200)
    args = parser.parse_args(argv)
    import ipykernel.ipkernel  # noqa: F401 - what a graded kernel has loaded
    import ipyparallel.client.magics  # noqa: F401
    import numpy.random  # noqa: F401
    from IPython.core.interactiveshell import InteractiveShell

    from grader.exercise import load_exercises
    from grader.protect import protection

    modules = sorted({m for e in load_exercises(ROOT / "exercises").values() for m in protection(e.nb).modules})
    print(f"modules the exercises' locked cells import: {len(modules)}; {len(sys.modules)} modules loaded here")
    shell = InteractiveShell.instance()
    for shallow in (True, False):
        measure(shallow, args.repeat, modules, shell)
    return 0


if __name__ == "__main__":
    sys.exit(main())
