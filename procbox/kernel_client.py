"""Kernel clients that know a kernel is ready as soon as it has shown it.

jupyter_client's ``wait_for_ready`` asks for ``kernel_info`` until it gets a reply
and an IOPub message, then waits for 0.2 s of IOPub silence before it returns.
A graded submission starts two clients (the guard's and nbclient's), so that is
0.4 s of waiting per submission, half of it while nothing else can run.

Here the kernel is ready when it has answered our ``kernel_info`` request on the
shell channel *and* its ``idle`` status for that same request has arrived on
IOPub: that proves the IOPub subscription works, and no message of the request
is left to drain.  If the status was published before the subscription took
effect, we ask again, as jupyter_client does.

With the ``ipc`` transport, a client that connects before the kernel has bound
its sockets is retried by zmq only every 0.1 s; :func:`wait_for_endpoints` lets
the kernel bind first.
"""

from __future__ import annotations

import os
import time
from queue import Empty

from jupyter_client.asynchronous import AsyncKernelClient
from jupyter_client.blocking import BlockingKernelClient
from jupyter_client.utils import run_sync
from jupyter_core.utils import ensure_async

STATUS_WAIT = 0.2  # seconds to wait for the idle status of one kernel_info request before asking again
CHANNELS = ("shell_port", "iopub_port", "stdin_port", "control_port", "hb_port")


def wait_for_endpoints(km, timeout: float) -> None:
    """Return when an ``ipc`` kernel has bound all its sockets (at once for ``tcp``); RuntimeError if it died."""
    info = km.get_connection_info()
    if info.get("transport") != "ipc":
        return
    paths = [f"{info['ip']}-{info[port]}" for port in CHANNELS]
    deadline = time.monotonic() + timeout
    while not all(os.path.exists(p) for p in paths):
        if not km.provisioner or km.provisioner.process is None or km.provisioner.process.poll() is not None:
            raise RuntimeError("the kernel exited before it was ready")
        if time.monotonic() > deadline:
            raise RuntimeError(f"the kernel did not open its sockets in {timeout:.0f} s")
        time.sleep(0.005)


async def _wait_for_ready(kc, timeout: float | None = None) -> None:
    deadline = time.monotonic() + (float("inf") if timeout is None else timeout)
    while True:
        msg_id = kc.kernel_info()
        reply = await _first(kc.shell_channel, min(1.0, max(0.01, deadline - time.monotonic())), _answers(msg_id))
        if reply is not None and await _first(kc.iopub_channel, STATUS_WAIT, _idle_after(msg_id)) is not None:
            kc._handle_kernel_info_reply(reply)
            return
        if not await ensure_async(kc.is_alive()):
            raise RuntimeError("Kernel died before replying to kernel_info")
        if time.monotonic() > deadline:
            raise RuntimeError(f"Kernel didn't respond in {timeout:.0f} seconds")


async def _first(channel, timeout: float, wanted):
    """The first message on ``channel`` within ``timeout`` seconds for which ``wanted(msg)``; None if none came."""
    end = time.monotonic() + timeout
    while (left := end - time.monotonic()) > 0:
        try:
            msg = await ensure_async(channel.get_msg(timeout=left))
        except Empty:
            return None
        if wanted(msg):
            return msg
    return None


def _answers(msg_id: str):
    return lambda msg: msg["parent_header"].get("msg_id") == msg_id


def _idle_after(msg_id: str):
    return lambda msg: (_answers(msg_id)(msg) and msg["msg_type"] == "status"
                        and msg["content"].get("execution_state") == "idle")


class ReadyAsyncClient(AsyncKernelClient):
    """nbclient's client for graded kernels."""

    wait_for_ready = _wait_for_ready


class ReadyBlockingClient(BlockingKernelClient):
    """The slot's client that installs the guard."""

    wait_for_ready = run_sync(_wait_for_ready)
