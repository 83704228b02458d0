"""The Linux system calls a box is made of, through ctypes: namespaces, mounts, the loopback interface, capabilities.

Each wrapper raises :class:`OSError` with the call and the path it failed on.  Everything here is
called in freshly forked children (the box parent, the box init, a box's service) or in probes,
never in the grader's own process.
"""

from __future__ import annotations

import contextlib
import ctypes
import fcntl
import os
import socket
import struct
from pathlib import Path

libc = ctypes.CDLL(None, use_errno=True)

CLONE_NEWNS, CLONE_NEWUSER, CLONE_NEWPID = 0x00020000, 0x10000000, 0x20000000
CLONE_NEWIPC, CLONE_NEWNET = 0x08000000, 0x40000000
MS_RDONLY, MS_NOSUID, MS_NODEV, MS_NOEXEC = 1, 2, 4, 8
MS_REMOUNT, MS_BIND, MS_REC, MS_PRIVATE = 32, 4096, 16384, 1 << 18
MNT_DETACH = 2
PR_SET_DUMPABLE, PR_SET_NO_NEW_PRIVS = 4, 38
_SYS_PIVOT_ROOT = {"x86_64": 155, "aarch64": 41, "riscv64": 41, "ppc64le": 203, "s390x": 217}
_SYS_CAPSET = {"x86_64": 126, "aarch64": 91, "riscv64": 91, "ppc64le": 184, "s390x": 185}


def check(result: int, what: str) -> None:
    if result != 0:
        err = ctypes.get_errno()
        raise OSError(err, f"{what}: {os.strerror(err)}")


def mount(source: str | None, target: str, fstype: str | None, flags: int, data: str | None = None) -> None:
    check(libc.mount(source and source.encode(), target.encode(), fstype and fstype.encode(), flags,
                     data and data.encode()), f"mount {target}")


def umount(target: str, flags: int = MNT_DETACH) -> None:
    check(libc.umount2(target.encode(), flags), f"umount {target}")


def unshare(flags: int) -> None:
    check(libc.unshare(flags), "unshare")


def pivot_root(new_root: str, put_old: str) -> None:
    check(libc.syscall(_SYS_PIVOT_ROOT[os.uname().machine], new_root.encode(), put_old.encode()),
          f"pivot_root {new_root}")


def prctl(option: int, value: int) -> None:
    check(libc.prctl(option, value, 0, 0, 0), f"prctl({option})")


def loopback_up() -> None:
    """Bring up ``lo`` in this (new) network namespace: 127.0.0.1 and ::1 answer, nothing else exists."""
    siocgifflags, siocsifflags, iff_up = 0x8913, 0x8914, 1
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as s:
        request = struct.pack("16sH22x", b"lo", 0)
        flags = struct.unpack("16sH22x", fcntl.ioctl(s, siocgifflags, request))[1]
        fcntl.ioctl(s, siocsifflags, struct.pack("16sH22x", b"lo", flags | iff_up))


class _CapHeader(ctypes.Structure):
    _fields_ = [("version", ctypes.c_uint32), ("pid", ctypes.c_int)]


class _CapData(ctypes.Structure):
    _fields_ = [("effective", ctypes.c_uint32), ("permitted", ctypes.c_uint32), ("inheritable", ctypes.c_uint32)]


def keep_capabilities(*caps: int) -> None:
    """Drop every capability of this process but ``caps`` (numbers, as in linux/capability.h; effective and
    permitted; none inheritable)."""
    header = _CapHeader(0x20080522, 0)  # _LINUX_CAPABILITY_VERSION_3: two 32-bit words
    data = (_CapData * 2)()
    for cap in caps:
        data[cap // 32].effective |= 1 << (cap % 32)
        data[cap // 32].permitted |= 1 << (cap % 32)
    check(libc.syscall(_SYS_CAPSET[os.uname().machine], ctypes.byref(header), data), "capset")


def reap_children() -> bool:
    """Collect exited children so they do not linger as zombies; True while any child remains."""
    while True:
        try:
            pid, _ = os.waitpid(-1, os.WNOHANG)
        except ChildProcessError:
            return False
        if pid == 0:
            return True


def map_ids(uid: int, gid: int) -> None:
    """In a new user namespace: keep our own uid and gid (no root inside, no other ids)."""
    Path("/proc/self/uid_map").write_text(f"{uid} {uid} 1")
    with contextlib.suppress(FileNotFoundError):
        Path("/proc/self/setgroups").write_text("deny")
    Path("/proc/self/gid_map").write_text(f"{gid} {gid} 1")
