"""Ports for controllers: a block of PORT_BLOCK ports per controller, below the kernel's ephemeral range (no
outgoing connection is given one), held until the controller stops (in this process, and with a lock file that
other processes respect), so that no other cluster takes one before the controller has bound them."""

from __future__ import annotations

import fcntl
import os
import random
import socket
import tempfile
import threading
from pathlib import Path

from .resources import LOCK_DIR

PORT_BLOCK = 32  # ports per controller: ipyparallel needs 16 with its defaults
BOX_PORTS = 20000  # in a box's own network namespace every port is free: a fixed block, below the ephemeral range
_blocks_in_use: set[int] = set()
_blocks_lock = threading.Lock()
_block_locks: dict[int, int] = {}  # a held block's lock file (its descriptor; flock'd), where there is a lock folder


def reserve_port_block() -> int | None:
    """The first port of a block of free ports below the kernel's ephemeral range; None if there is no room.

    ipyparallel picks its ports by binding port 0 and closing it, and binds them
    for real later (its heart monitor, in another process, later still).  In
    between, any outgoing connection on the machine may be given that port as its
    ephemeral port, and the heart monitor dies ("Address already in use"), so no
    engine ever registers.  Ports below the ephemeral range are not handed out
    that way; a block held here or by another process (its lock file, in
    LOCK_DIR or the temporary directory: :func:`_lock`) is not handed out twice.  Hold it until the controller stops:
    :func:`release_port_block`.
    """
    try:
        low = int(Path("/proc/sys/net/ipv4/ip_local_port_range").read_text().split()[0])
    except (OSError, ValueError, IndexError):
        return None
    bases = list(range(20000, low - PORT_BLOCK, PORT_BLOCK))
    random.shuffle(bases)
    for base in bases[:64]:
        with _blocks_lock:
            if base in _blocks_in_use:
                continue
            _blocks_in_use.add(base)
        if _lock(base) and all(_bindable(port) for port in range(base, base + PORT_BLOCK)):
            return base
        release_port_block(base)
    return None


def controller_ports_arg(base: int) -> str:
    """The controller's argument that makes it bind the block of ports starting at ``base``."""
    return f"--IPController.ports={base}-{base + PORT_BLOCK - 1}"


def release_port_block(base: int | None) -> None:
    with _blocks_lock:
        _blocks_in_use.discard(base)
        fd = _block_locks.pop(base, None) if base is not None else None
    if fd is not None:
        os.close(fd)  # and with it the lock


def _lock(base: int) -> bool:
    """Take the lock file of the block at ``base``; False if another process holds it.

    The lock files are in LOCK_DIR or, where this process may not write there (a box's processes, which run as a user
    of their own with a /run of the box's), in a folder of the temporary directory that every user may write: the
    processes that share a network share that too (a box's own /tmp, or the machine's).  Where neither can be written
    the block counts as not held elsewhere."""
    for folder, mode in ((LOCK_DIR, 0o755), (Path(tempfile.gettempdir()) / "procbox-ports", 0o1777)):
        try:
            folder.mkdir(mode=mode, parents=True, exist_ok=True)
            if mode & 0o1000 and folder.stat().st_uid == os.geteuid():
                folder.chmod(mode)  # mkdir's mode is cut by the umask
            # read-only is enough for flock, and lets another user's process open a lock file this one made
            fd = os.open(folder / f"ports-{base}.lock", os.O_RDONLY | os.O_CREAT | os.O_CLOEXEC, 0o644)
            break
        except OSError:
            continue
    else:
        return True
    try:
        fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
    except OSError:
        os.close(fd)
        return False
    with _blocks_lock:
        _block_locks[base] = fd
    return True


def _bindable(port: int) -> bool:
    with socket.socket() as s:
        try:
            s.bind(("127.0.0.1", port))
            return True
        except OSError:
            return False
