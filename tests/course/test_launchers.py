"""course.launchers: a cluster counts its engines as started once the controller has registered them.

ipyparallel 9.2's ``Cluster.start_and_connect`` (``with ipp.Cluster(n=N) as rc:``) can miss an engine that
registers while its client connects, and then waits 60 s for it.  With ``RegisteredEngineSetLauncher`` the
engines are registered before any client connects: a client made right after the start lists them all in its
connection reply, with no announcement to miss.
"""

import json
import logging
import sys
from pathlib import Path

import ipyparallel as ipp
import psutil
import pytest
from traitlets.config import Config

from course.launchers import EnginesNotRegistered, HeldPortsControllerLauncher, RegisteredEngineSetLauncher
from procbox import ports

LAUNCHER = "course.launchers.RegisteredEngineSetLauncher"
CONTROLLER = "course.launchers.HeldPortsControllerLauncher"


def _cluster(tmp_path, n, config=None, **kwargs):
    return ipp.Cluster(n=n, profile_dir=str(tmp_path / "profile"), cluster_id="t", engine_launcher_class=LAUNCHER,
                       log_level=logging.WARNING, shutdown_atexit=False, load_profile=False,
                       config=config or Config(), **kwargs)


def _ids_in_connection_reply(cluster):
    client = ipp.Client(cluster.controller.connection_files["client"], timeout=30)
    try:
        return set(client.ids)  # what the controller's reply listed: no announcement heard yet, none awaited
    finally:
        client.close()


def test_a_started_cluster_has_its_engines_registered_before_any_client_connects(tmp_path):
    cluster = _cluster(tmp_path, 2)
    again = None
    try:
        cluster.start_cluster_sync()
        first = _ids_in_connection_reply(cluster)
        assert len(first) == 2, f"right after the start the controller had registered {first}"
        again = ipp.Cluster.from_file(cluster.cluster_file, log_level=logging.WARNING)  # as another program would
        assert again.engine_launcher_class is RegisteredEngineSetLauncher, again.engine_launcher_class
        again.restart_engines_sync()
        after = _ids_in_connection_reply(cluster)
        assert len(after - first) == 2, f"right after the restart the controller had {after} (before: {first})"
    finally:
        (again or cluster).stop_cluster_sync()  # the one that knows the engines running now
        cluster.stop_cluster_sync()


def _its_processes(cluster, rc) -> list[psutil.Process]:
    """The controller, the engines and each engine's nanny (its child, which ends a moment after the engine)."""
    engines = [p for p in map(_process, rc[:].apply_sync(__import__("os").getpid)) if p]
    nannies = [child for engine in engines for child in engine.children()]
    return [p for p in [_process(cluster.controller.process.pid), *engines, *nannies] if p]


def _left_running(procs: list[psutil.Process]) -> list[psutil.Process]:
    return psutil.wait_procs(procs, timeout=30)[1]


def test_with_block_runs_on_registered_engines_and_leaves_nothing(tmp_path):
    cluster = _cluster(tmp_path, 3)
    with cluster as rc:
        assert len(rc.ids) == 3  # start_and_connect returned: wait_for_engines had nothing left to wait for
        assert len(set(rc[:].apply_sync(__import__("os").getpid))) == 3
        procs = _its_processes(cluster, rc)
    assert not _left_running(procs), "still running after the with block"


def test_the_controller_binds_a_block_held_for_it_below_the_ephemeral_range_until_it_stops(tmp_path):
    """ipyparallel's own ports come from the ephemeral range, where any outgoing connection may take one before the
    controller binds it (a queue then dies, and the first task waits for ever)."""
    low = int(Path("/proc/sys/net/ipv4/ip_local_port_range").read_text().split()[0])
    cluster = _cluster(tmp_path, 2, controller_launcher_class=CONTROLLER)
    with cluster as rc:
        info = json.loads(Path(cluster.controller.connection_files["engine"]).read_text())
        used = [info[k] for k in ("registration", "control", "mux", "task", "iopub", "hb_ping", "hb_pong")]
        base = min(used) - (min(used) - 20000) % ports.PORT_BLOCK  # the block's start (blocks start at 20000)
        assert all(base <= p < base + ports.PORT_BLOCK for p in used) and base + ports.PORT_BLOCK <= low, used
        assert base in ports._blocks_in_use
        again = ipp.Cluster.from_file(cluster.cluster_file, log_level=logging.WARNING)  # as another program would
        assert again.controller_launcher_class is HeldPortsControllerLauncher, again.controller_launcher_class
        assert rc[:].apply_sync(sum, [1, 2]) == [3, 3]
        procs = _its_processes(cluster, rc)
    assert base not in ports._blocks_in_use  # let go when the controller stopped
    assert not _left_running(procs), "still running after the with block"


def _process(pid):
    try:
        return psutil.Process(pid)
    except psutil.NoSuchProcess:
        return None


def test_engines_that_exit_before_registering_fail_the_start_with_their_logs(tmp_path):
    config = Config()
    config.RegisteredEngineSetLauncher.engine_cmd = [sys.executable, "-c", "raise SystemExit(3)"]
    config.RegisteredEngineSetLauncher.registration_timeout = 600.0  # the failure must come from the exits
    cluster = _cluster(tmp_path, 2, config)
    try:
        with pytest.raises(EnginesNotRegistered, match="exited before the controller registered them") as err:
            cluster.start_cluster_sync()
        assert str(tmp_path / "profile" / "log") in str(err.value)
        assert "3" in str(err.value)
    finally:
        cluster.stop_cluster_sync()


def test_a_missing_controller_is_no_engines_registered(tmp_path):
    launcher = RegisteredEngineSetLauncher(profile_dir=str(tmp_path), cluster_id="none")
    assert launcher.registered() is None
