"""The sealing check: before a run grades anything, a probe box tries what a hostile submission would (read the
instructor's files, reach the host's network or another box, write where it outlives the box, see other processes)
and reports every protection that does not hold (:func:`check_sealed`; :func:`probe_main` runs inside the box)."""

from __future__ import annotations

import contextlib
import json
import os
import secrets
import socket
from pathlib import Path

from procbox import rootfs
from procbox.box import Box
from procbox.policy import BoxPolicy, minimal_env
from procbox.resources import BoxError


def check_sealed(forkserver, policy: BoxPolicy, run_dir: Path, *, uid: int, gid: int,
                 timeout: float = 30) -> list[str]:
    """Make a box of ``policy`` in ``run_dir`` (new, empty) and try from inside it what a hostile submission
    would; one line per protection that does not hold (none: the box is sealed as ``policy`` promises).

    The probe (:func:`probe_main`, as the box's uid) looks for every path of ``policy.hide`` and for their
    names in its mount table, tries to write in every read-only place and outside its box (``/run/lock``,
    ``/var/lock``, ``/tmp`` ... must be its own: the grader looks for what it wrote there on the host), and,
    with a network of its own, tries to connect to listeners the grader opened on the host's loopback
    (where other boxes' controllers would be with the host's network) and to find a route out.
    """
    nonce = f"procbox-probe-{secrets.token_hex(8)}"
    listeners, problems = [], []
    for family, host in ((socket.AF_INET, "127.0.0.1"), (socket.AF_INET6, "::1")):
        with contextlib.suppress(OSError):
            s = socket.socket(family, socket.SOCK_STREAM)
            s.bind((host, 0))
            s.listen(8)
            listeners.append(s)
    for sub in ("work", "logs"):
        (run_dir / sub).mkdir(parents=True, exist_ok=True)
    out = run_dir / "probe.json"
    if os.geteuid() == 0:
        for path in (run_dir, run_dir / "work", run_dir / "logs"):
            os.chown(path, uid, gid)
    box = None
    try:
        box = Box(forkserver, policy, run_dir=run_dir, uid=uid, gid=gid,
                  name=f"procbox-{os.getpid()}-probe-{secrets.token_hex(4)}", log=run_dir / "logs" / "box.log",
                  timeout=timeout)
        with contextlib.suppress(PermissionError):  # its parent is in its network, and readable where the init is not
            if policy.own_network and os.readlink(f"/proc/{box.parent_pid}/ns/net") == os.readlink("/proc/self/ns/net"):
                problems.append("network: the box is in the grader's network namespace")
        box.run("probe", [json.dumps(probe_args(policy, run_dir, nonce, out, listeners))],
                env=minimal_env(HOME=str(run_dir / "work")), cwd=str(run_dir / "work"),
                log=str(run_dir / "logs" / "probe.log"), timeout=timeout)
        found = json.loads(out.read_text())
    except (BoxError, OSError, ValueError) as e:
        return problems + [f"the probe box did not run ({e}); see {run_dir / 'logs'}"]
    finally:
        if box is not None:
            box.close()
        for s in listeners:
            s.close()
    return problems + found["problems"] + written_on_host(nonce)


PRIVATE_DIRS = ("/tmp", "/var/tmp", "/dev/shm", "/run", "/run/lock", "/var/lock")


def probe_args(policy: BoxPolicy, run_dir: Path, nonce: str, out: Path, listeners=()) -> dict:
    """What :func:`check_sealed` asks its probe (:func:`probe_main`) to try in a box of ``policy`` made in ``run_dir``:
    the hidden paths to look for, where writing must fail, the private folders to write ``nonce`` in, and (with a
    network of its own) the host's ``listeners`` (sockets) it must not reach and whether it must find no route out."""
    return {"hide": [str(p) for p in policy.hide], "read_only": ["/", *policy.read_only, "/usr", "/etc"],
            "allowed": [*policy.read_only, str(run_dir)], "private": list(PRIVATE_DIRS), "nonce": nonce,
            "out": str(out), "listeners": [list(s.getsockname()[:2]) for s in listeners] if policy.own_network else [],
            "routes": policy.own_network}


def written_on_host(nonce: str) -> list[str]:
    """One line for each file named ``nonce`` that a probe wrote in its private folders and that is on the host
    (so that folder of its box was the host's); each is removed."""
    problems = []
    for folder in PRIVATE_DIRS:
        if os.path.lexists(os.path.join(folder, nonce)):
            problems.append(f"files: {folder}/{nonce}, written in the box, is on the host: the box's {folder} is not "
                            "its own")
            with contextlib.suppress(OSError):
                os.unlink(os.path.join(folder, nonce))
    return problems


def _exposed(path: str, allowed: list[str]) -> str | None:
    """Something at or below the hidden ``path`` that shows in the box and is not (on the way to) an ``allowed``
    path; None if nothing does (an empty folder covering it is nothing)."""
    if not os.path.lexists(path):
        return None
    if not os.path.isdir(path) or os.path.islink(path):
        return path
    todo = [path]
    while todo:
        folder = todo.pop()
        try:
            names = os.listdir(folder)
        except OSError:
            continue
        for name in names:
            entry = os.path.join(folder, name)
            if any(rootfs.under(entry, a) for a in allowed):
                continue  # the box's own (its run directory) or the installation
            if any(rootfs.under(a, entry) for a in allowed) and os.path.isdir(entry) and not os.path.islink(entry):
                todo.append(entry)  # only the way to an allowed path may show
                continue
            return entry
    return None


def probe_main(argv: list[str]) -> None:
    """The ``probe`` role of :func:`check_sealed`, run in the box: writes ``{"problems": [...]}`` to ``out``."""
    args = json.loads(argv[0])
    problems = []
    for path in args["hide"]:
        exposed = _exposed(path, args["allowed"])
        if exposed:
            problems.append(f"files: {exposed} can be read in the box")
    try:
        table = Path("/proc/self/mountinfo").read_text()
    except OSError as e:
        table = ""
        problems.append(f"files: the mount table could not be read ({e})")
    for path in args["hide"]:
        if (f" {path} " in table or f" {path}/" in table) and not any(rootfs.under(a, path) for a in args["allowed"]):
            problems.append(f"files: the box's mount table names {path}")
    for folder in args["read_only"]:
        target = os.path.join(folder, args["nonce"])
        try:
            os.close(os.open(target, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600))
            problems.append(f"files: the box can write in {folder}")
            os.unlink(target)
        except OSError:
            pass
    for folder in args["private"]:
        with contextlib.suppress(OSError):
            Path(folder, args["nonce"]).write_text("probe")
    for host, port in args["listeners"]:
        family = socket.AF_INET6 if ":" in host else socket.AF_INET
        with socket.socket(family, socket.SOCK_STREAM) as s:
            s.settimeout(2)
            try:
                s.connect((host, port))
                problems.append(f"network: the box reached the grader's {host} port {port}")
            except OSError:
                pass
    if args["routes"]:
        for family, address in ((socket.AF_INET, ("192.0.2.1", 9)), (socket.AF_INET6, ("2001:db8::1", 9))):
            with socket.socket(family, socket.SOCK_DGRAM) as s:
                try:
                    s.connect(address)  # UDP: succeeds at once if a route exists, sends nothing
                    problems.append(f"network: the box has a route out ({address[0]})")
                except OSError:
                    pass
    tmp = args["out"] + ".tmp"
    Path(tmp).write_text(json.dumps({"problems": problems}))
    os.replace(tmp, args["out"])
