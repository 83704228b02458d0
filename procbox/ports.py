"""Ports for controllers: a block of PORT_BLOCK ports per controller, held (a bound socket and a lock) until the
controller binds them, so that no other cluster and no outgoing connection takes one in between."""

from __future__ import annotations

import random
import socket
import threading
from pathlib import Path

PORT_BLOCK = 32  # ports per controller: ipyparallel needs 16 with its defaults
BOX_PORTS = 20000  # in a box's own network namespace every port is free: a fixed block, below the ephemeral range
_blocks_in_use: set[int] = set()
_blocks_lock = threading.Lock()


def reserve_port_block() -> int | None:
    """The first port of a block of free ports below the kernel's ephemeral range; None if there is no room.

    ipyparallel picks its ports by binding port 0 and closing it, and binds them
    for real later (its heart monitor, in another process, later still).  In
    between, any outgoing connection on the machine may be given that port as its
    ephemeral port, and the heart monitor dies ("Address already in use"), so no
    engine ever registers.  Ports below the ephemeral range are not handed out
    that way; blocks this process holds are not handed out twice.
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
        if all(_bindable(port) for port in range(base, base + PORT_BLOCK)):
            return base
        release_port_block(base)
    return None


def release_port_block(base: int | None) -> None:
    with _blocks_lock:
        _blocks_in_use.discard(base)


def _bindable(port: int) -> bool:
    with socket.socket() as s:
        try:
            s.bind(("127.0.0.1", port))
            return True
        except OSError:
            return False
