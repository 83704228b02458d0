"""What the grader, the fork server and a box's init say to each other: one JSON line each way, typed here.

- :class:`SpawnRequest` asks the fork server (:mod:`procbox.forkserver`) or a box's init
  (:mod:`procbox.box`) to start a process; it answers with a :class:`Started`.
- :class:`BoxSpec` travels inside the request that makes a box's parent: everything the box is
  allowed (its root, limits, network, services); the init answers the grader once with a :class:`BoxHello`.

Both ends read and write these classes only, so a field is named, typed and documented once.
This module imports nothing of procbox: every other module of it may use it.
"""

from __future__ import annotations

import json
from dataclasses import asdict, dataclass, field, fields


class _Line:
    """A dataclass that travels as one JSON line."""

    def line(self) -> str:
        return json.dumps(asdict(self)) + "\n"  # type: ignore[call-overload]  # subclasses are dataclasses

    @classmethod
    def from_line(cls, line: str):
        """The message ``line`` holds; ValueError if it is not one (unknown or missing fields, not JSON)."""
        raw = json.loads(line)
        if not isinstance(raw, dict):
            raise ValueError(f"not a {cls.__name__}: {line[:200]!r}")
        return cls.from_dict(raw)

    @classmethod
    def from_dict(cls, raw: dict):
        names = {f.name for f in fields(cls)}  # type: ignore[arg-type]  # subclasses are dataclasses
        unknown = set(raw) - names
        if unknown:
            raise ValueError(f"{cls.__name__} has no field {sorted(unknown)}")
        return cls(**raw)


@dataclass
class Service(_Line):
    """A process that serves a box from outside it, on a listening socket in the box's network.

    The box parent binds ``127.0.0.1:port`` (0: any) in the box's network namespace, then forks the
    service before the box's PID namespace and file system exist: it runs in the grader's file system
    and PID namespace, which student code cannot see or signal, as the box's uid with no capability.  ``target``
    (``"module:function"``) is called as ``function(listening_socket, *args)`` while still privileged (to read its
    data) and returns the callable that serves; it dies with the box.  Its port is in :attr:`Box.ports`.
    """

    name: str
    target: str
    args: list = field(default_factory=list)
    port: int = 0


@dataclass
class BoxLimits(_Line):
    """Per-process limits of everything a box starts (0: none): data segment bytes, file size bytes, processes."""

    data: int = 0
    fsize: int = 0
    nproc: int = 0


@dataclass
class BoxSpec(_Line):
    """What a box parent is told: the grader's socket, the root to build (:func:`procbox.rootfs.build_root`),
    limits, network (``"none"``: loopback only; ``"host"``), services, the cgroup files to join; ``ports`` is
    filled in by the parent as it starts the services."""

    socket: str
    root: dict
    limits: BoxLimits
    network: str
    services: list[Service] = field(default_factory=list)
    cgroup_procs: list[str] = field(default_factory=list)
    ports: dict[str, int] = field(default_factory=dict)

    @classmethod
    def from_dict(cls, raw: dict) -> BoxSpec:
        raw = dict(raw)
        raw["limits"] = BoxLimits.from_dict(raw["limits"])
        raw["services"] = [Service.from_dict(s) for s in raw.get("services", [])]
        return super().from_dict(raw)


@dataclass
class SpawnRequest(_Line):
    """Start ``role`` (controller, engine, kernel, one of procbox's own roles, or ``box``: a box's parent, which
    needs ``box``) with ``argv``, exactly the environment ``env``, in ``cwd``, its output appended to ``log``;
    ``jail`` are :mod:`procbox.jail` options confining it (fork server only: in a box, the box confines)."""

    role: str
    argv: list[str]
    env: dict[str, str]
    cwd: str
    log: str
    jail: list[str] = field(default_factory=list)
    box: BoxSpec | None = None

    @classmethod
    def from_dict(cls, raw: dict) -> SpawnRequest:
        raw = dict(raw)
        if raw.get("box") is not None:
            raw["box"] = BoxSpec.from_dict(raw["box"])
        return super().from_dict(raw)


@dataclass
class Started(_Line):
    """The answer to a :class:`SpawnRequest`: the new process's PID (as the grader sees it), its PID in its box's
    namespace when it is in one, or why it could not start."""

    pid: int = 0
    ns_pid: int | None = None
    error: str | None = None


@dataclass
class BoxHello(_Line):
    """The box init's first line to the grader: its PID as the grader sees it, and the services' ports."""

    init: int
    ports: dict[str, int] = field(default_factory=dict)
