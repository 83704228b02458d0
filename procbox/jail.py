"""Start a student-facing process (kernel or engine) confined, then exec it.

    python -m procbox.jail [--user nobody] [--hide PATH]... [--keep PATH]... [--share PATH]...
                          [--private-tmp] [--memory BYTES] [--workdir DIR] -- COMMAND...

As root: a private mount namespace in which each ``--hide`` directory is an empty
read-only tmpfs (a hidden file reads as /dev/null) and ``/tmp``, ``/var/tmp`` and
``/dev/shm`` are fresh; each ``--keep`` path is bound back in; ``--share`` paths are
handed to the user; then the process drops to ``--user``.  As anyone: resource
limits (memory, processes, file size, no core dumps), death with its parent, and
the working directory.  Kept small: it runs before every kernel and engine.
"""

import ctypes
import os
import pwd
import resource
import sys

from procbox._launch import die_with_parent

CLONE_NEWNS = 0x00020000
MS_RDONLY, MS_NOSUID, MS_NODEV, MS_REMOUNT, MS_BIND, MS_REC, MS_PRIVATE = 1, 2, 4, 32, 4096, 16384, 1 << 18
TMP_DIRS = ("/tmp", "/var/tmp", "/dev/shm")
_libc = ctypes.CDLL(None, use_errno=True)


def _check(result, what):
    if result != 0:
        err = ctypes.get_errno()
        raise OSError(err, f"{what}: {os.strerror(err)}")


def _mount(source, target, fstype, flags, data=None):
    _check(_libc.mount(source and source.encode(), target.encode(), fstype and fstype.encode(), flags,
                       data and data.encode()), f"mount {target}")


def parse(argv):
    opts = {"hide": [], "keep": [], "share": [], "user": None, "memory": None, "workdir": None, "private_tmp": False}
    i = 0
    while i < len(argv) and argv[i] != "--":
        key = argv[i][2:].replace("-", "_")
        if key == "private_tmp":
            opts[key] = True
            i += 1
            continue
        value = argv[i + 1]
        if isinstance(opts.get(key), list):
            opts[key].append(value)
        elif key in opts:
            opts[key] = value
        else:
            raise SystemExit(f"procbox.jail: unknown option {argv[i]}")
        i += 2
    return opts, argv[i + 1:]


def _blocking_ancestor(path):
    """The highest directory above ``path`` that other users cannot pass through (e.g. /root), or None."""
    parts = os.path.realpath(path).split(os.sep)[1:]
    for i in range(1, len(parts)):
        ancestor = os.sep + os.path.join(*parts[:i])
        if not os.stat(ancestor).st_mode & 0o001:
            return ancestor
    return None


def under(path, top):
    path, top = os.path.realpath(path), os.path.realpath(top)
    return path == top or path.startswith(top.rstrip(os.sep) + os.sep)


def _needed_paths():
    """What the confined Python needs to read: its installation, its environment, this project."""
    here = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
    return {os.path.realpath(p)
            for p in (sys.base_prefix, sys.prefix, os.path.dirname(os.path.realpath(sys.executable)), here)}


def confine(opts):
    """A private mount namespace for one process (root only); see :func:`cover`."""
    _check(_libc.unshare(CLONE_NEWNS), "unshare")
    cover(opts["hide"], opts["keep"], tmp="mode=1777" if opts["private_tmp"] else None)


def confine_box(mounts: dict) -> None:
    """A sealed box's file system, in the mount namespace its parent just unshared (see :mod:`procbox.box`).

    The instructor's paths are hidden and the run directory kept (:func:`cover`); ``/tmp``
    is a fresh tmpfs of ``tmp_bytes``, also mounted at ``/var/tmp`` and ``/dev/shm`` so the
    three share one size; the working directory is a tmpfs of ``work_bytes`` owned by the
    box's uid.  tmpfs pages count in the box's memory cgroup too.
    """
    cover(mounts["hide"], mounts["keep"], tmp=f"mode=1777,size={mounts['tmp_bytes']}", shared_tmp=True)
    work = mounts["work"]
    os.makedirs(work, exist_ok=True)
    _mount("tmpfs", work, "tmpfs", MS_NOSUID | MS_NODEV,
           f"mode=0700,size={mounts['work_bytes']},uid={mounts['uid']},gid={mounts['gid']}")


def cover(hide, keep, tmp=None, shared_tmp=False):
    """Cover ``hide`` paths and bring ``keep`` paths back, in the current (private) mount namespace.

    Covers that keep paths must show through go first (fresh /tmp, a home directory
    others cannot enter, a hidden folder holding the run directory), then the kept
    paths are bound back in, then the remaining hidden paths are covered, so a
    source folder inside a project kept under /tmp is still hidden.  ``tmp`` is the
    tmpfs options of a fresh /tmp (None: keep the machine's); with ``shared_tmp``
    /var/tmp and /dev/shm are that same tmpfs, else each gets its own.
    """
    keep = list(keep)
    hide = list(hide)
    tmps = [p for p in TMP_DIRS if tmp is not None and os.path.isdir(p)]
    for path in _needed_paths():  # e.g. Python installed under /root: cover /root, bring the installation back
        ancestor = _blocking_ancestor(path)
        if ancestor:
            hide.append(ancestor)
        if ancestor or any(under(path, t) for t in tmps):  # a project cloned under /tmp stays visible
            keep.append(path)
    _mount(None, "/", None, MS_REC | MS_PRIVATE)
    keeps = [(path, os.open(path, os.O_PATH)) for path in keep]  # in the new namespace, before covering
    first = [p for p in hide if os.path.isdir(p) and any(under(k, p) for k in keep)
             and not any(under(p, t) for t in tmps)]  # under a fresh /tmp it is gone already
    for path in tmps:
        if shared_tmp and path != "/tmp" and "/tmp" in tmps:
            _mount("/tmp", path, None, MS_BIND)
        else:
            _mount("tmpfs", path, "tmpfs", MS_NOSUID | MS_NODEV, tmp)
    for path in first:
        _mount("tmpfs", path, "tmpfs", MS_NOSUID | MS_NODEV, "mode=0755,size=64k")
    for path, fd in keeps:
        os.makedirs(path, exist_ok=True)
        _mount(f"/proc/self/fd/{fd}", path, None, MS_BIND | MS_REC)
        os.close(fd)
    for path in first:
        _mount(None, path, None, MS_REMOUNT | MS_RDONLY | MS_NOSUID | MS_NODEV)
    for path in hide:
        if path in first or not os.path.exists(path) or any(under(k, path) for k in keep):
            continue  # covered already (first, or by a fresh /tmp, around the kept paths)
        if os.path.isdir(path):
            _mount("tmpfs", path, "tmpfs", MS_RDONLY | MS_NOSUID | MS_NODEV, "mode=0755,size=4k")
        else:
            _mount("/dev/null", path, None, MS_BIND)


def enter(opts):
    """Confine the calling process as ``opts`` say (see :func:`parse`); the caller then runs or execs its work."""
    parent = os.getppid()
    if opts["user"] and os.geteuid() == 0:
        user = pwd.getpwnam(opts["user"])
        for top in opts["share"]:
            for folder, _dirs, files in os.walk(top):
                for name in [folder] + [os.path.join(folder, f) for f in files]:
                    os.chown(name, user.pw_uid, user.pw_gid)
            if os.path.isfile(top):
                os.chown(top, user.pw_uid, user.pw_gid)
        confine(opts)
        os.setgroups([])
        os.setgid(user.pw_gid)
        os.setuid(user.pw_uid)
    if opts["memory"]:
        limit = int(opts["memory"])
        resource.setrlimit(resource.RLIMIT_DATA, (limit, limit))
    resource.setrlimit(resource.RLIMIT_CORE, (0, 0))
    resource.setrlimit(resource.RLIMIT_FSIZE, (2**30, 2**30))
    if os.geteuid() != 0:
        resource.setrlimit(resource.RLIMIT_NPROC, (2048, 2048))
    die_with_parent()  # after setuid, which clears it
    if os.getppid() != parent:
        os._exit(1)
    if opts["workdir"]:
        os.chdir(opts["workdir"])
        os.environ["HOME"] = opts["workdir"]


def main(argv):
    opts, cmd = parse(argv)
    enter(opts)
    os.execvp(cmd[0], cmd)


if __name__ == "__main__":
    main(sys.argv[1:])
