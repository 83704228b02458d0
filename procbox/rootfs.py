"""A box's file system, built from an allowlist, as bubblewrap, nsjail and isolate build theirs.

The box parent, in a mount namespace of its own, mounts an empty tmpfs and builds a root in it
(:func:`build_root`); then it ``pivot_root``\\ s into it and detaches the machine's root, so nothing
that is not listed here exists for the box's processes, and its mount table names nothing else:

- read-only: ``/usr``, ``/etc``, the system's library links or folders (``/bin``, ``/lib`` ...), the
  Python installation (its base prefix, the environment's prefix, the interpreter's folder, the
  site-packages folders on ``sys.path``) and the packages that run in the box (:func:`allowlist`:
  this project's ``procbox``, ``course`` and ``grader``, never the rest of its checkout, its ``.git``
  or the exercises);
- ``/dev``: ``null``, ``zero``, ``full``, ``random``, ``urandom``, ``tty`` and the usual links;
- private and size-capped: ``/tmp``, which ``/var/tmp`` and ``/dev/shm`` share, and ``/run``
  (with ``/run/lock``; ``/var/lock`` and ``/var/run`` point there);
- read-write: the run directory (without what is mounted below it) and the grader's short socket
  folder, with a tmpfs of its own owned by the box's uid on the working directory;
- ``/proc`` of the caller's PID namespace (the box init builds the root).

The root itself is read-only once built.  Paths that must stay hidden (the exercise sources, the
submissions, the gradebook ...) are not in the allowlist; one that lies below an allowed path
anyway is covered by an empty read-only folder (or ``/dev/null``).
"""

from __future__ import annotations

import importlib.util
import os
import sys

from .syscalls import (
    MS_BIND,
    MS_NODEV,
    MS_NOEXEC,
    MS_NOSUID,
    MS_PRIVATE,
    MS_RDONLY,
    MS_REC,
    MS_REMOUNT,
    mount,
    pivot_root,
    umount,
)

SYSTEM = ("/usr", "/etc")
SYSTEM_LINKS = ("/bin", "/sbin", "/lib", "/lib32", "/lib64", "/libx32")  # links into /usr, or folders of their own
DEVICES = ("null", "zero", "full", "random", "urandom", "tty")
DEV_LINKS = {"fd": "/proc/self/fd", "stdin": "/proc/self/fd/0", "stdout": "/proc/self/fd/1",
             "stderr": "/proc/self/fd/2"}
BOX_PACKAGES = ("procbox", "course", "grader")  # what runs in a box: the launcher, the course helpers, the guard
SKELETON_BYTES = 4 * 1024 * 1024  # the root's own tmpfs: only folders, links and empty files
RUN_BYTES = 4 * 1024 * 1024  # /run and /run/lock


def under(path: str, top: str) -> bool:
    return path == top or path.startswith(top.rstrip("/") + "/")


def _outermost(paths) -> list[str]:
    """The paths that are not below another of them, sorted."""
    kept: list[str] = []
    for path in sorted(set(paths), key=lambda p: (p.count("/"), p)):
        if not any(under(path, k) for k in kept):
            kept.append(path)
    return sorted(kept)


def allowlist(packages=BOX_PACKAGES) -> list[str]:
    """The read-only paths a box's Python needs: the installation, its site-packages and ``packages``' folders.

    A ``sys.path`` entry is taken only if it is inside one of the prefixes or is a site-packages folder:
    never the folder the grader was started from, nor a project root that an old-style editable install
    put on the path (either may hold the course's sources).
    """
    prefixes = {os.path.realpath(p)
                for p in (sys.base_prefix, sys.prefix, os.path.dirname(os.path.realpath(sys.executable)))}
    paths = set(prefixes)
    for entry in sys.path:
        if not entry or not os.path.exists(entry):
            continue
        real = os.path.realpath(entry)
        if any(under(real, p) for p in prefixes) or os.path.basename(real) in ("site-packages", "dist-packages"):
            paths.add(real)
    for name in packages:
        spec = importlib.util.find_spec(name)
        for location in (spec.submodule_search_locations or []) if spec else []:
            paths.add(os.path.realpath(location))
    return _outermost(p for p in paths if not any(under(p, s) for s in SYSTEM))


def _flags_of(path: str) -> int:
    """The mount flags a read-only remount of ``path`` must keep (the kernel refuses to drop locked ones)."""
    st = os.statvfs(path)
    return ((MS_NOSUID if st.f_flag & os.ST_NOSUID else 0) | (MS_NODEV if st.f_flag & os.ST_NODEV else 0)
            | (MS_NOEXEC if st.f_flag & os.ST_NOEXEC else 0))


def _bind(source: str, target: str, *, read_only: bool, recursive: bool = True) -> None:
    if os.path.isdir(source):
        os.makedirs(target, exist_ok=True)
    else:
        os.makedirs(os.path.dirname(target), exist_ok=True)
        if not os.path.lexists(target):
            os.close(os.open(target, os.O_WRONLY | os.O_CREAT, 0o644))
    mount(source, target, None, MS_BIND | (MS_REC if recursive else 0))
    if read_only:
        mount(None, target, None, MS_REMOUNT | MS_BIND | MS_RDONLY | _flags_of(target))


def build_root(spec: dict) -> None:
    """Build the box's root as the module's docstring says, enter it, and make it read-only.

    ``spec``: ``root`` (an empty folder to build in), ``read_only`` and ``read_write`` (paths, bound at the
    same place), ``hide`` (paths that must not show), ``work`` (the working directory), ``work_bytes``,
    ``tmp_bytes``, ``uid`` and ``gid`` (who owns the working directory).  Runs in a mount namespace of its own,
    as PID 1 of the PID namespace whose ``/proc`` it mounts.
    """
    new = spec["root"]
    at = lambda path: new + path  # noqa: E731
    mount(None, "/", None, MS_REC | MS_PRIVATE)
    mount("tmpfs", new, "tmpfs", MS_NOSUID | MS_NODEV, f"mode=0755,size={SKELETON_BYTES}")
    os.makedirs(at("/tmp"))
    mount("tmpfs", at("/tmp"), "tmpfs", MS_NOSUID | MS_NODEV, f"mode=1777,size={spec['tmp_bytes']}")
    os.makedirs(at("/run"))
    mount("tmpfs", at("/run"), "tmpfs", MS_NOSUID | MS_NODEV | MS_NOEXEC, f"mode=0755,size={RUN_BYTES}")
    os.mkdir(at("/run/lock"))
    os.chmod(at("/run/lock"), 0o1777)
    os.makedirs(at("/var"))
    for link, target in (("lock", "../run/lock"), ("run", "../run")):
        os.symlink(target, at(f"/var/{link}"))
    for path in SYSTEM:
        _bind(path, at(path), read_only=True)
    for path in SYSTEM_LINKS:
        if os.path.islink(path):
            os.symlink(os.readlink(path), at(path))
        elif os.path.isdir(path):
            _bind(path, at(path), read_only=True)
    _devices(at("/dev"))
    for alias in ("/var/tmp", "/dev/shm"):
        os.makedirs(at(alias), exist_ok=True)
        mount(at("/tmp"), at(alias), None, MS_BIND)
    for path in spec["read_only"]:
        _bind(path, at(path), read_only=True)
    for path in spec["read_write"]:  # the run directory: not what the grader mounted below it (this root)
        _bind(path, at(path), read_only=False, recursive=False)
    os.makedirs(at(spec["work"]), exist_ok=True)
    mount("tmpfs", at(spec["work"]), "tmpfs", MS_NOSUID | MS_NODEV,
          f"mode=0700,size={spec['work_bytes']},uid={spec['uid']},gid={spec['gid']}")
    os.makedirs(at("/proc"))
    mount("proc", at("/proc"), "proc", MS_NOSUID | MS_NODEV | MS_NOEXEC)  # of the caller's PID namespace
    allowed = [*spec["read_only"], *spec["read_write"]]
    for path in spec["hide"]:  # below an allowed path after all: an empty folder, or an empty file
        if any(under(a, path) for a in allowed):
            continue  # on the way to an allowed path (the run directory's parents): only that way exists
        if os.path.isdir(at(path)):
            mount("tmpfs", at(path), "tmpfs", MS_RDONLY | MS_NOSUID | MS_NODEV, "mode=0755,size=4k")
        elif os.path.lexists(at(path)):
            mount("/dev/null", at(path), None, MS_BIND)
    os.mkdir(at("/.old"))
    pivot_root(new, at("/.old"))
    os.chdir("/")
    umount("/.old")
    os.rmdir("/.old")
    mount(None, "/", None, MS_REMOUNT | MS_RDONLY | MS_NOSUID | MS_NODEV)


def _devices(dev: str) -> None:
    os.makedirs(dev)
    mount("tmpfs", dev, "tmpfs", MS_NOSUID | MS_NOEXEC, "mode=0755,size=64k")
    for name in DEVICES:
        if os.path.exists(f"/dev/{name}"):
            _bind(f"/dev/{name}", f"{dev}/{name}", read_only=False)
    for name, target in DEV_LINKS.items():
        os.symlink(target, f"{dev}/{name}")
