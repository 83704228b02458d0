"""A PID names a process only together with its start time: pid_max may be 32768, which a busy grader goes through
in minutes, so a box's init or a role that ended long ago may have passed its PID on to a stranger (another
student's kernel).  procbox.resources signals a PID only while it is still the process it recorded."""

import os
import subprocess
import sys

from procbox.resources import alive, kill_if_same, start_time


def test_a_process_is_signalled_only_while_its_pid_is_still_it():
    proc = subprocess.Popen([sys.executable, "-c", "import time; time.sleep(60)"])
    try:
        start = start_time(proc.pid)
        assert start is not None and alive(proc.pid, start)
        assert not alive(proc.pid, start + 1)  # as a stranger that took the PID would look
        kill_if_same(proc.pid, start + 1)
        assert proc.poll() is None, "a process that is not the one recorded was signalled"
        kill_if_same(proc.pid, start)
        assert proc.wait(timeout=10) == -9
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()
    assert not alive(proc.pid, start)
    kill_if_same(proc.pid, start)  # gone: nothing happens, nothing raises


def test_what_was_never_seen_is_never_signalled():
    assert start_time(os.getpid()) is not None and alive(os.getpid())
    kill_if_same(os.getpid(), None)  # a process that ended before its start time was read: left alone
    kill_if_same(None, 123)
