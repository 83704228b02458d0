"""The grader's kernel plumbing: readiness without jupyter_client's IOPub wait, and forked kernels' handles."""

import contextlib
import os
import queue
import signal
import subprocess
import sys

import psutil
import pytest
from jupyter_client.utils import run_sync
from nbconvert.filters import strip_ansi

from procbox.forkserver import ForkServer
from procbox.kernel import ForkedProcess, kernel_manager
from procbox.kernel_client import wait_for_endpoints

pytestmark = pytest.mark.timeout(120)


@pytest.fixture(scope="module")
def forkserver():
    fs = ForkServer()
    yield fs
    fs.close()


@pytest.fixture
def km(tmp_path, forkserver):
    def spawn(argv, env, cwd):
        return forkserver.spawn("kernel", argv, env=env, cwd=cwd, log=str(tmp_path / "kernel.log"))

    km = kernel_manager(spawn, kernels_dir=tmp_path / "kernels", connection_file=tmp_path / "kernel.json",
                        ip=str(tmp_path / "kernel"))
    run_sync(km.start_kernel)(cwd=str(tmp_path), env=dict(os.environ))
    yield km
    if km.has_kernel:
        run_sync(km.shutdown_kernel)(now=True)


def test_the_kernel_is_launched_by_the_procbox_provisioner_through_its_entry_point(km):
    from procbox.kernel import ForkProvisioner

    assert type(km.provisioner) is ForkProvisioner  # found by jupyter_client from the kernel spec's metadata
    assert km.kernel_spec.metadata["kernel_provisioner"]["provisioner_name"] == "procbox-fork"
    assert psutil.Process(km.provisioner.pid).ppid() != os.getpid()  # forked by the fork server, not by us


@contextlib.contextmanager
def ready_client(km):
    """A blocking client of the fixture's kernel, once the kernel is ready; its channels stopped after."""
    wait_for_endpoints(km, timeout=60)
    kc = km.blocking_client()
    kc.start_channels()
    try:
        kc.wait_for_ready(timeout=60)
        yield kc
    finally:
        kc.stop_channels()


def test_a_ready_kernel_delivers_the_output_of_its_first_cell(km):
    with ready_client(km) as kc:
        leftover = []
        with contextlib.suppress(queue.Empty):
            while True:
                leftover.append(kc.iopub_channel.get_msg(timeout=0.3))
        seen = []
        reply = kc.execute_interactive("print('first output')", timeout=30, output_hook=seen.append)
    assert reply["content"]["status"] == "ok"
    assert any(m["msg_type"] == "stream" and m["content"]["text"] == "first output\n" for m in seen), seen
    assert not leftover, f"messages of the readiness check were left for the first cell: {leftover}"


def test_the_template_warms_up_without_a_shell_its_forks_would_share_or_a_trace_in_home(tmp_path):
    # warm() imports and formats a traceback once; an IPython shell made there would be every fork's singleton,
    # and a folder it made or read in HOME (an IPython directory, user themes) would be the template's, not a fork's
    code = ("import sys; from procbox import forkserver; forkserver.warm(); "
            "from IPython.core.interactiveshell import InteractiveShell; "
            "print(InteractiveShell.initialized(), [m for m in forkserver.WARM_IMPORTS if m not in sys.modules])")
    env = {k: v for k, v in os.environ.items() if k not in ("IPYTHONDIR", "XDG_CONFIG_HOME")}
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=60,
                         env=dict(env, HOME=str(tmp_path)))
    assert out.stdout.split("\n")[0] == "False []", out.stdout + out.stderr
    assert list(tmp_path.iterdir()) == []


def test_a_kernel_forked_from_the_warm_template_shows_an_error_with_its_whole_traceback(km):
    errors = []
    with ready_client(km) as kc:
        reply = kc.execute_interactive("def half_of_one_over(x):\n    return 0.5 / x\nhalf_of_one_over(0)",
                                       timeout=30, output_hook=lambda m: m["msg_type"] == "error" and errors.append(m))
    assert reply["content"]["status"] == "error" and reply["content"]["ename"] == "ZeroDivisionError"
    text = strip_ansi("\n".join(errors[0]["content"]["traceback"]))
    assert "half_of_one_over(0)" in text and "return 0.5 / x" in text and "ZeroDivisionError" in text, text


def test_waiting_for_a_dead_kernel_is_an_error(km):
    run_sync(km.shutdown_kernel)(now=True)
    kc = km.blocking_client()
    kc.start_channels()
    try:
        with pytest.raises(RuntimeError, match="died|respond"):
            kc.wait_for_ready(timeout=5)
    finally:
        kc.stop_channels()


def test_the_handle_of_a_process_that_is_not_our_child():
    # a grandchild, adopted by init when the shell exits: like a kernel the fork server forked
    out = subprocess.run(["sh", "-c", "sleep 60 >/dev/null 2>&1 & echo $!"], capture_output=True, text=True)
    proc = ForkedProcess(int(out.stdout))
    assert proc.poll() is None
    with pytest.raises(subprocess.TimeoutExpired):
        proc.wait(timeout=0.1)
    proc.send_signal(signal.SIGTERM)
    assert proc.wait(timeout=10) == 0 and proc.poll() == 0
    proc.kill()  # like Popen: nothing happens once it has gone
    assert not psutil.pid_exists(proc.pid) or psutil.Process(proc.pid).status() == psutil.STATUS_ZOMBIE


def test_a_kernel_manager_without_a_spawn_is_an_error_not_an_unconfined_kernel(tmp_path):
    km = kernel_manager(None, kernels_dir=tmp_path / "kernels", connection_file=tmp_path / "kernel.json")
    with pytest.raises(RuntimeError, match="needs `spawn`"):
        run_sync(km.start_kernel)(cwd=str(tmp_path))
    assert not km.has_kernel
