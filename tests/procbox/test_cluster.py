import json
import os
import signal
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import psutil
import pytest

from procbox import cluster as cl, ippcluster, ports as port_blocks, processes
from procbox.spawners import Forked

pytestmark = pytest.mark.timeout(180)


def course(*args, env):
    return subprocess.run([sys.executable, "-m", "course", *args], capture_output=True, text=True, env=env,
                          timeout=120)


def gone(pids, within=10.0):
    deadline = time.monotonic() + within
    while time.monotonic() < deadline:
        if not any(psutil.pid_exists(p) and psutil.Process(p).status() != psutil.STATUS_ZOMBIE for p in pids):
            return True
        time.sleep(0.05)
    return False


def test_session_cluster_has_four_engines_with_distinct_pids(cluster, rc):
    assert rc.ids == [0, 1, 2, 3]
    pids = rc[:].apply_sync(os.getpid)
    assert len(set(pids)) == 4 and os.getpid() not in pids
    assert sorted(pids) == sorted(p.pid for p in cluster.state.engines)
    cluster.verify()


def test_bare_client_finds_the_cluster_through_ipythondir(cluster):
    code = "import ipyparallel as ipp; rc = ipp.Client(); rc.wait_for_engines(4, timeout=30); print(rc.ids)"
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=60,
                         env={**os.environ, "IPYTHONDIR": str(cluster.ipython_dir)})
    assert out.stdout.strip() == "[0, 1, 2, 3]", out.stderr


def test_restart_replaces_every_process_and_keeps_ids(tmp_path):
    with cl.LocalCluster(ipython_dir=tmp_path) as c:
        before = set(c.pids())
        c.restart()
        c.verify()
        assert not before & set(c.pids())
        assert gone(before)
        with c.client() as rc:
            assert rc.ids == [0, 1, 2, 3]


def test_verify_notices_a_killed_engine(tmp_path):
    with cl.LocalCluster(ipython_dir=tmp_path) as c:
        os.kill(c.state.engines[2].pid, signal.SIGKILL)
        with pytest.raises(cl.ClusterError, match="exited"):
            c.verify()
        pids = c.pids()
    assert gone(pids)


def test_stop_takes_child_processes_of_engines_too(tmp_path):
    with cl.LocalCluster(ipython_dir=tmp_path, n=2) as c:
        with c.client() as rc:
            rc[0].execute("import subprocess; child = subprocess.Popen(['sleep', '300']).pid", block=True)
            child = rc[0]["child"]
        assert psutil.pid_exists(child)
    assert gone([child])


def test_owned_cluster_dies_with_its_owner(tmp_path):
    code = ("from procbox.cluster import LocalCluster; import os; "
            f"c = LocalCluster(ipython_dir={str(tmp_path)!r}, n=2).start(); print(c.pids(), flush=True); os._exit(0)")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=120)
    pids = json.loads(out.stdout)
    assert len(pids) == 3
    assert gone(pids), "an owned cluster must not outlive its owner"
    cl.reap(tmp_path)  # remove the state file it left


def test_reap_stops_a_cluster_left_by_a_crashed_run(tmp_path):
    code = ("from procbox.cluster import LocalCluster; from procbox.spawners import Processes; import os; "
            f"c = LocalCluster(ipython_dir={str(tmp_path)!r}, n=2, spawner=Processes(owned=False)).start(); "
            "os._exit(0)")
    subprocess.run([sys.executable, "-c", code], check=True, timeout=120)
    st = cl.status(tmp_path)
    assert st["running"] and len(st["engines"]) == 2
    pids = [st["controller_pid"]] + [e["pid"] for e in st["engines"]]
    assert sorted(cl.reap(tmp_path)) == sorted(pids)
    assert gone(pids)
    assert cl.status(tmp_path) is None


def test_cli_start_status_stop(tmp_path):
    env = {**os.environ, "IPYTHONDIR": str(tmp_path)}
    start = course("cluster", "start", env=env)
    assert start.returncode == 0, start.stderr
    try:
        status = course("cluster", "status", env=env)
        assert status.returncode == 0 and status.stdout.count("running") == 5, status.stdout
        assert "started by course cluster start" in status.stdout
        again = course("cluster", "start", env=env)
        assert again.returncode == 1
        assert "already running" in again.stderr and "course cluster stop" in again.stderr
        st = ippcluster.status(ipython_dir=tmp_path)
        pids = [e["pid"] for e in st["engines"]] + [st["controller_pid"]]
        rec = ippcluster.Record.load(ippcluster.record_path(tmp_path / "profile_default"))
        every = [p.pid for p in rec.all_procs()]  # with the engines' nannies and the controller's schedulers
        nannies = [p for pid in pids[:4] for p in psutil.Process(pid).children()]
        assert len(nannies) == 4 and {p.pid for p in nannies} <= set(every), (nannies, every)
    finally:
        stop = course("cluster", "stop", env=env)
    assert stop.returncode == 0 and f"Stopped {len(every)} cluster processes" in stop.stdout, stop.stdout
    assert gone(every)
    status = course("cluster", "status", env=env)
    assert status.returncode == 1 and "No course cluster" in status.stdout
    again = course("cluster", "stop", env=env)
    assert again.returncode == 0 and "No course cluster was running" in again.stdout


def test_cli_start_with_another_profile_and_engine_count(tmp_path):
    env = {**os.environ, "IPYTHONDIR": str(tmp_path)}
    try:
        start = course("cluster", "start", "-n", "2", "--profile", "small", env=env)
        assert start.returncode == 0, start.stderr
        st = ippcluster.status("small", ipython_dir=tmp_path)
        assert [e["id"] for e in st["engines"]] == [0, 1]
        assert ippcluster.status(ipython_dir=tmp_path) is None
    finally:
        course("cluster", "stop", "--profile", "small", env=env)


def test_the_course_cluster_is_one_jupyterlabs_panel_lists_and_stops(tmp_path):
    """The panel's server side is ipyparallel's ClusterManager: it lists the clusters of a profile from their
    cluster files and stops one with its Cluster's stop_cluster (what the panel's STOP asks for)."""
    from ipyparallel.cluster import ClusterManager

    env = {**os.environ, "IPYTHONDIR": str(tmp_path)}
    assert course("cluster", "start", env=env).returncode == 0
    profile_dir = tmp_path / "profile_default"
    try:
        assert "c.Cluster.n = 4" in (profile_dir / "ipcluster_config.py").read_text()  # START there: 4 engines
        manager = ClusterManager()
        clusters = manager.load_clusters(profile_dirs=[str(profile_dir)], init_default_clusters=True)
        cluster = clusters[f"{profile_dir}:"] if f"{profile_dir}:" in clusters else clusters["default:"]
        assert cluster.cluster_id == "" and cluster.controller is not None and cluster._is_running()
        assert sum(es.n for es in cluster.engines.values()) == 4
        procs = ippcluster.Record.load(ippcluster.record_path(profile_dir)).all_procs()
        cluster.stop_cluster_sync()
        # the panel's stop ends the controller and the engines (each engine's nanny then exits by itself)
        assert gone([p.pid for p in procs if p.role in ("controller", "engine")], within=60)
        assert not (profile_dir / "security" / "cluster-.json").exists()
    finally:
        stop = course("cluster", "stop", env=env)  # by PID, whatever of the record is left
    assert stop.returncode == 0 and gone([p.pid for p in procs])
    status = course("cluster", "status", env=env)
    assert status.returncode == 1 and "No course cluster" in status.stdout, status.stdout


def test_the_panel_sees_a_cluster_started_after_it_listed_the_profile_stopped(tmp_path):
    """ipyparallel 9.2's ClusterManager keeps the stopped placeholder of a profile and skips a cluster file written
    later (the panel went on offering START while `course cluster start` ran); course.jupyter's does not."""
    from ipyparallel.cluster import ClusterManager

    from course.jupyter import CourseClusterManager

    env = {**os.environ, "IPYTHONDIR": str(tmp_path)}
    profile_dir = tmp_path / "profile_default"
    profile_dir.mkdir()
    managers = {"ipyparallel": ClusterManager(), "course": CourseClusterManager()}
    for manager in managers.values():  # the panel shows the profile: a stopped default entry
        [placeholder] = manager.load_clusters(profile_dirs=[str(profile_dir)], init_default_clusters=True).values()
        assert placeholder.controller is None
    assert course("cluster", "start", env=env).returncode == 0
    try:
        seen = {name: list(m.load_clusters(profile_dirs=[str(profile_dir)], init_default_clusters=True).values())
                for name, m in managers.items()}
        assert [c.controller for c in seen["ipyparallel"]] == [None]  # if this fails, ipyparallel fixed it
        [cluster] = seen["course"]
        assert cluster.controller is not None and cluster._is_running() and cluster.cluster_id == ""
    finally:
        course("cluster", "stop", env=env)


def test_course_cluster_sees_and_stops_a_cluster_ipyparallel_started(tmp_path):
    """A cluster started the way JupyterLab's panel starts one (ipyparallel's Cluster, no record of the course's)
    is the one `course cluster status` shows and `course cluster stop` stops."""
    env = {**os.environ, "IPYTHONDIR": str(tmp_path)}
    code = ("import ipyparallel as ipp, logging; "
            f"c = ipp.Cluster(profile_dir={str(tmp_path / 'profile_default')!r}, cluster_id='', n=2, "
            "shutdown_atexit=False, log_level=logging.ERROR); c.start_cluster_sync()")
    subprocess.run([sys.executable, "-c", code], check=True, timeout=120, env=env)
    try:
        started = course("cluster", "start", env=env)
        assert started.returncode == 1 and "already running" in started.stderr, started.stdout + started.stderr
        deadline = time.monotonic() + 60
        while True:  # the engines register a moment after the Cluster API returned
            status = course("cluster", "status", env=env)
            if status.stdout.count("running") == 3 or time.monotonic() > deadline:
                break
        assert status.returncode == 0 and "started by ipyparallel" in status.stdout, status.stdout
        assert status.stdout.count("running") == 3, status.stdout  # the controller and 2 engines
    finally:
        stop = course("cluster", "stop", env=env)
    assert stop.returncode == 0 and "Stopped" in stop.stdout, stop.stdout + stop.stderr
    # its first line; a second may name run directories of killed graders it swept (other tests kill graders)
    stopped = next(line for line in stop.stdout.splitlines() if line.startswith("Stopped"))
    pids = [int(p) for p in stopped.split(":", 1)[1].split()]
    assert gone(pids)
    assert not (tmp_path / "profile_default" / "security" / "cluster-.json").exists()
    assert course("cluster", "status", env=env).returncode == 1


def test_controller_ports_come_from_a_held_block_below_the_ephemeral_range(tmp_path):
    low = int(Path("/proc/sys/net/ipv4/ip_local_port_range").read_text().split()[0])
    with cl.LocalCluster(ipython_dir=tmp_path, n=1, spawner=Forked()) as c:
        base = c._ports
        assert base is not None and base + port_blocks.PORT_BLOCK <= low
        info = json.loads(c.engine_file.read_text())
        ports = [info[k] for k in ("registration", "control", "mux", "task", "iopub", "hb_ping", "hb_pong")]
        assert all(base <= p < base + port_blocks.PORT_BLOCK for p in ports), (base, ports)
        others = {port_blocks.reserve_port_block() for _ in range(5)}  # a block held is not handed out again
        assert base not in others
        for other in others:
            port_blocks.release_port_block(other)
    assert base not in port_blocks._blocks_in_use  # released when the cluster stops


# Run in another process: reserve a block, trying the block at BASE first (argv[1]); print the block it got.
RESERVE_TRYING_FIRST = """
import random, sys
from procbox import ports
base = int(sys.argv[1])
random.shuffle = lambda blocks: blocks.sort(key=lambda b: b != base)  # BASE first, the others after it
print(ports.reserve_port_block())
"""


def reserve_in_another_process(first: int, env: dict | None = None) -> int:
    out = subprocess.run([sys.executable, "-c", RESERVE_TRYING_FIRST, str(first)], capture_output=True, text=True,
                         timeout=60, check=True, env=None if env is None else {**os.environ, **env})
    return int(out.stdout)


def test_a_block_another_process_holds_is_not_handed_out():
    """Two programs starting clusters at once (lesson 22's scripts) must not get the same block: its lock file."""
    base = port_blocks.reserve_port_block()
    assert base is not None
    try:
        assert reserve_in_another_process(base) != base  # it tried this block first, and passed it by
    finally:
        port_blocks.release_port_block(base)
    assert reserve_in_another_process(base) == base  # let go: anyone may have it


def test_processes_that_may_not_write_the_lock_folder_still_do_not_share_a_block(tmp_path, monkeypatch):
    """A box's processes run as a user of their own and may not write LOCK_DIR (/run/procbox, in the box's own /run):
    two of them starting clusters at once (exercise 22's set-up and a student's script) lock their blocks in the
    temporary directory instead, which the processes of one network share."""
    (tmp_path / "not-a-folder").write_text("")
    locks, tmp = tmp_path / "not-a-folder" / "locks", tmp_path / "tmp"  # no folder can be made under a file
    tmp.mkdir()
    monkeypatch.setattr(port_blocks, "LOCK_DIR", locks)
    monkeypatch.setattr(tempfile, "tempdir", str(tmp))
    base = port_blocks.reserve_port_block()
    assert base is not None
    env = {"PROCBOX_LOCK_DIR": str(locks), "TMPDIR": str(tmp)}
    try:
        assert (tmp / "procbox-ports" / f"ports-{base}.lock").exists()
        assert reserve_in_another_process(base, env) != base
    finally:
        port_blocks.release_port_block(base)
    assert reserve_in_another_process(base, env) == base


def test_a_held_block_is_released_even_where_a_boxs_own_block_starts(tmp_path, monkeypatch):
    """The first block a cluster may reserve starts at 20000, where a box's own fixed block (BOX_PORTS) does too; a
    cluster that got it kept it for ever (stop released by number, and never that number).  Here the box's block is
    made to start wherever this cluster's reserved block does, whichever it is."""
    reserve = cl.reserve_port_block

    def reserve_as_a_boxs(*args):
        base = reserve(*args)
        monkeypatch.setattr(cl, "BOX_PORTS", base)
        return base

    monkeypatch.setattr(cl, "reserve_port_block", reserve_as_a_boxs)
    with cl.LocalCluster(ipython_dir=tmp_path, n=1, spawner=Forked()) as c:
        base = c._ports
        assert base is not None and base == cl.BOX_PORTS and base in port_blocks._blocks_in_use
    assert base not in port_blocks._blocks_in_use


def test_a_connection_file_counts_only_once_it_is_complete(tmp_path):
    path = tmp_path / "ipcontroller-engine.json"
    assert not processes.complete_json(path)
    path.write_text('{"registration": 200')  # what an engine read while the controller was still writing
    assert not processes.complete_json(path)
    path.write_text('{"registration": 20001}')
    assert processes.complete_json(path)


def _shell_port(conn: Path) -> int:
    """The shell port a kernel's connection file names; 0 while the kernel has not written it in full (it removes
    the file and writes it anew, jupyter_core's secure_write: a read may find no file, or one empty or half-written)."""
    try:
        return json.loads(conn.read_text())["shell_port"]
    except (OSError, ValueError):
        return 0


def test_a_forked_kernel_carries_the_token_and_goes_with_the_cluster(tmp_path):
    from jupyter_client import BlockingKernelClient

    with cl.LocalCluster(ipython_dir=tmp_path / "ip", n=1, spawner=Forked()) as c:
        conn = tmp_path / "kernel.json"
        conn.write_text(json.dumps({"transport": "tcp", "ip": "127.0.0.1", "shell_port": 0, "iopub_port": 0,
                                    "stdin_port": 0, "control_port": 0, "hb_port": 0, "key": "k",
                                    "signature_scheme": "hmac-sha256"}))
        pid = c.start_kernel(["-f", str(conn)], env=dict(os.environ), cwd=tmp_path)
        deadline = time.monotonic() + 30
        while _shell_port(conn) == 0:  # the kernel writes the ports it bound
            assert time.monotonic() < deadline and psutil.pid_exists(pid), "the forked kernel did not start"
            time.sleep(0.05)
        kc = BlockingKernelClient(connection_file=str(conn))
        kc.load_connection_file()
        kc.start_channels()
        try:
            reply = kc.execute_interactive("import os; x = os.getpid()", user_expressions={"x": "x"}, timeout=30)
        finally:
            kc.stop_channels()
        assert reply["content"]["user_expressions"]["x"]["data"]["text/plain"] == str(pid)
        assert psutil.Process(pid).environ()[processes.TOKEN_VAR] == c.state.token
    assert gone([pid])
