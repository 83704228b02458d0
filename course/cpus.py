"""How many CPUs a process may use, and what limits its BLAS threads, on Linux, macOS and Windows, in a
container or not.

``os.cpu_count()`` counts the machine's cores. A process may be allowed fewer, in two ways, and the number that
counts is the smaller:

- its **CPU affinity** (``taskset``, a batch job's CPU set, Docker's ``--cpuset-cpus``): ``os.sched_getaffinity(0)``
  reads it, on Linux only (macOS and Windows have no such call; ``os.process_cpu_count()`` needs Python 3.13);
- a **CPU quota** (Docker's ``--cpus``, a Kubernetes CPU limit, a systemd slice): the process may run on every core
  but only for so much CPU time per period, which affinity does not show. The process's cgroup holds it: cgroup v2's
  ``cpu.max`` (``"200000 100000"`` is 2 CPUs' worth, ``"max 100000"`` no quota), cgroup v1's ``cpu.cfs_quota_us``
  and ``cpu.cfs_period_us`` (a quota of -1: none). A group's parents may set a quota too; the smallest counts.

:func:`usable_cpus` combines them and falls back to ``os.cpu_count()`` where there is neither (macOS, Windows). The
cgroup's files are read from :data:`CGROUP_ROOT` and :data:`PROC_CGROUP`, or from the paths given, so that it can be
tried on made-up cgroups. Everything it uses is imported inside it, so a function sent to an engine can call it there:
the engine's affinity and quota may differ from this kernel's.

numpy's BLAS library sizes its thread pool when it is loaded. ``threadpoolctl`` reads and limits it for OpenBLAS, MKL
and BLIS, but not for Apple's Accelerate (numpy's wheels for macOS 14+ on Apple silicon), which it neither reports
nor limits: there the environment variables of :data:`THREAD_VARIABLES`, set before numpy is imported (in the
engines' environment at launch), are the only lever. :func:`blas_pools_limitable` tells which case a process is in.
"""

from __future__ import annotations

import math
import os
from pathlib import Path

CGROUP_ROOT = "/sys/fs/cgroup"  # where the cgroup file systems are mounted (Linux)
PROC_CGROUP = "/proc/self/cgroup"  # which cgroup this process is in (Linux)

# read once, when the library is loaded: OpenMP runtimes (and OpenBLAS, MKL when their own is unset), OpenBLAS,
# Intel MKL, Apple's Accelerate
THREAD_VARIABLES = ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS", "VECLIB_MAXIMUM_THREADS")


def affinity_cpus() -> int | None:
    """The number of CPUs this process may run on, or None where the system does not say (no sched_getaffinity)."""
    getaffinity = getattr(os, "sched_getaffinity", None)  # Linux only
    if getaffinity is None:
        return None
    try:
        return len(getaffinity(0)) or None
    except OSError:
        return None


def _cgroup_paths(proc_cgroup: str | os.PathLike) -> dict[str, str]:
    """{controller: this process's group path} from /proc/self/cgroup; cgroup v2's line has the key ""."""
    try:
        text = Path(proc_cgroup).read_text()
    except (OSError, UnicodeDecodeError):
        return {}
    paths = {}
    for line in text.splitlines():
        parts = line.split(":", 2)
        if len(parts) != 3:
            continue
        _, controllers, path = parts
        for controller in controllers.split(",") if controllers else [""]:
            paths[controller] = path
    return paths


def _read(path: Path) -> str | None:
    try:
        return path.read_text().strip()
    except (OSError, UnicodeDecodeError):
        return None


def _groups(root: Path, path: str):
    """The group ``path`` under the mount ``root``, then each parent up to the root (whichever exist).

    Inside a container the mount often shows the container's own group as its root while ``path`` is the host's:
    walking up from a path that does not exist reaches the root, whose files are then the container's."""
    group = root / path.strip("/") if path.strip("/") else root
    while True:
        yield group
        if group == root or root not in group.parents:
            return
        group = group.parent


def cgroup_cpu_quota(cgroup_root: str | os.PathLike | None = None,
                     proc_cgroup: str | os.PathLike | None = None) -> float | None:
    """The CPU quota of this process's cgroup in CPUs (1.5 = one and a half CPUs' time), None if there is none.

    cgroup v2: ``cpu.max`` of the group and each of its parents; cgroup v1: ``cpu.cfs_quota_us`` /
    ``cpu.cfs_period_us`` of the ``cpu`` controller's group and parents. The smallest quota found counts."""
    root = Path(CGROUP_ROOT if cgroup_root is None else cgroup_root)
    paths = _cgroup_paths(PROC_CGROUP if proc_cgroup is None else proc_cgroup)
    quotas = []
    if "" in paths:  # cgroup v2 (unified), mounted at the root, or at unified/ beside v1's controllers
        for mount in (root, root / "unified"):
            for group in _groups(mount, paths[""]):
                value = _read(group / "cpu.max")
                if value is None:
                    continue
                fields = value.split()
                try:
                    if fields[0] != "max":
                        quotas.append(int(fields[0]) / int(fields[1] if len(fields) > 1 else 100000))
                except (ValueError, ZeroDivisionError, IndexError):
                    pass
    if "cpu" in paths:  # cgroup v1
        for name in ("cpu", "cpu,cpuacct", "cpuacct,cpu"):
            for group in _groups(root / name, paths["cpu"]):
                quota, period = _read(group / "cpu.cfs_quota_us"), _read(group / "cpu.cfs_period_us")
                try:
                    if quota is not None and period is not None and int(quota) > 0 and int(period) > 0:
                        quotas.append(int(quota) / int(period))
                except ValueError:
                    pass
    return min(quotas) if quotas else None


def usable_cpus(cgroup_root: str | os.PathLike | None = None, proc_cgroup: str | os.PathLike | None = None) -> int:
    """The CPUs this process may use: its CPU affinity (``os.cpu_count()`` where there is none), capped by its
    cgroup's CPU quota rounded up (a quota of 1.5 CPUs keeps 2 threads busy part of the time). At least 1."""
    n = affinity_cpus() or os.cpu_count() or 1
    quota = cgroup_cpu_quota(cgroup_root, proc_cgroup)
    if quota is not None:
        n = min(n, max(1, math.ceil(quota)))
    return max(1, n)


def thread_environment(n: int) -> dict[str, str]:
    """The environment variables that size the thread pools of every BLAS and OpenMP library to ``n`` threads, for
    processes that have not loaded them yet (``EngineLauncher.environment``, or a shell before ``python``)."""
    return {name: str(int(n)) for name in THREAD_VARIABLES}


def blas_pools_limitable() -> bool:
    """Whether threadpoolctl sees a BLAS thread pool in this process (after importing numpy), that is one it can read
    and limit. False with Apple's Accelerate (numpy's wheels on macOS 14+ arm64): set VECLIB_MAXIMUM_THREADS at launch
    there."""
    import numpy  # noqa: F401  loads numpy's BLAS, if it is not loaded yet
    from threadpoolctl import threadpool_info

    return any(lib.get("user_api") == "blas" for lib in threadpool_info())
