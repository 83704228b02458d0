"""The typed messages between the grader, the fork server and a box's init (procbox.messages): no cluster needed."""

import json

import pytest

from procbox.messages import BoxHello, BoxLimits, BoxSpec, Service, SpawnRequest, Started


def test_a_box_request_travels_whole_and_typed():
    spec = BoxSpec("/run/s.sock", {"uid": 1000, "gid": 1000}, BoxLimits(data=1 << 30, fsize=1 << 20, nproc=64),
                   "none", [Service("mirror", "course.data:box_mirror", ["x"])], ["/sys/fs/cgroup/a/cgroup.procs"])
    request = SpawnRequest("box", [], {}, "/", "/tmp/box.log", box=spec)
    line = request.line()
    assert line.endswith("\n") and line.count("\n") == 1  # one line, whatever the fields hold
    back = SpawnRequest.from_line(line)
    assert back == request
    assert isinstance(back.box, BoxSpec) and isinstance(back.box.limits, BoxLimits)
    assert isinstance(back.box.services[0], Service) and back.box.services[0].port == 0


def test_a_line_that_is_not_a_message_is_refused_with_its_field_named():
    good = json.loads(SpawnRequest("engine", ["--x"], {"A": "1"}, "/w", "/l").line())
    with pytest.raises(ValueError, match="jial"):
        SpawnRequest.from_line(json.dumps({**good, "jial": ["--memory", "1"]}))
    with pytest.raises(TypeError):  # a field missing
        SpawnRequest.from_line(json.dumps({k: v for k, v in good.items() if k != "argv"}))
    with pytest.raises(ValueError):
        SpawnRequest.from_line("[1, 2]")


def test_answers_say_a_pid_or_why_not():
    assert Started.from_line(Started(pid=42, ns_pid=3).line()) == Started(42, 3, None)
    assert Started.from_line(Started(error="OSError(12)").line()).error == "OSError(12)"
    assert BoxHello.from_line('{"init": 7, "ports": {"mirror": 8080}}\n') == BoxHello(7, {"mirror": 8080})
