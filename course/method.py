"""What the exercises' tests use to check the method a question teaches, not only the value an answer returns.

- :func:`watch` records the calls code under test makes on a view the test passes in (``map``, ``apply_async``,
  ``execute`` ...): one ``map`` is not a loop of ``apply_async``, one ``execute`` is not ``apply`` plus ``exec``.
- :func:`hub_records` and :func:`msg_types` read what the controller's hub recorded for tasks (it hears the
  engines directly, not through the student's kernel): each task's ``msg_type`` (``execute_request`` or
  ``apply_request``), its status, what the engine captured as its stdout.
- :func:`meet` and :func:`leave` let tasks show that they ran at the same time on several engines without racing
  the clock: a task waits (up to a long limit) until a task on another engine is running too.

Tests call these with their own client and views; they read only plain values from what they return.
"""

import functools
import time

# The calls of a view that send work or data to engines (and the serializer switches): what watch records.
CALLS = ("apply", "apply_async", "apply_sync", "map", "map_async", "map_sync", "imap", "execute", "run", "push",
         "pull", "scatter", "gather", "use_cloudpickle", "use_pickle", "use_dill", "sync_imports")


def watch(view):
    """Record the calls made on ``view`` from now on, as a list of method names in call order.

    Only outermost calls count: a call the view makes on itself while running another (``map_sync`` calling
    ``map``) is not recorded.  The wrappers are set on this view object only, not on its class."""
    calls = []
    depth = [0]

    def wrap(name, method):
        @functools.wraps(method)
        def wrapper(*args, **kwargs):
            if depth[0] == 0:
                calls.append(name)
            depth[0] += 1
            try:
                return method(*args, **kwargs)
            finally:
                depth[0] -= 1
        return wrapper

    for name in CALLS:
        method = getattr(view, name, None)
        if callable(method):
            setattr(view, name, wrap(name, method))
    return calls


def hub_records(rc, msg_ids, keys=(), timeout=60.0):
    """What the hub recorded for these tasks, ``{msg_id: {"engine_id": id, key: value, ...}}``, once it has every
    one of them completed (it hears a task's end a little after the client may): waits up to ``timeout`` s."""
    msg_ids = list(msg_ids)
    engines = {uuid: i for i, uuid in rc._engines.items()}
    wanted = ["msg_id", "engine_uuid", "completed", *keys]
    deadline = time.monotonic() + timeout
    while True:
        records = rc.db_query({"msg_id": {"$in": msg_ids}}, keys=wanted)
        if len(records) == len(msg_ids) and all(r.get("completed") for r in records):
            break
        if time.monotonic() > deadline:
            break
        time.sleep(0.05)
    return {r["msg_id"]: {"engine_id": engines.get(r.get("engine_uuid")), **{k: r.get(k) for k in keys}}
            for r in records}


def msg_types(rc, msg_ids):
    """Each task's message type as the hub recorded it, in the order of ``msg_ids``: ``"execute_request"`` for
    ``view.execute``, ``"apply_request"`` for ``apply``/``map``, ``None`` for a task the hub does not know."""
    records = hub_records(rc, msg_ids, keys=("header",))
    return [((records.get(m) or {}).get("header") or {}).get("msg_type") for m in msg_ids]


def meet(directory, tag, limit=20.0):
    """Run on an engine, at the start of a task: True once a task in another engine process is running at the
    same time (it called ``meet`` and has not called ``leave``), False when none came within ``limit`` seconds.
    After the first meeting (or the first wait given up) no task waits any more, so tasks run one at a time cost
    ``limit`` once, and tasks that really run together meet however busy the machine is.  ``directory`` must
    be new, empty and visible to every engine (the tests make one with ``tempfile.mkdtemp()``)."""
    import os
    import time
    open(os.path.join(directory, f"running-{os.getpid()}-{tag}"), "w").close()
    deadline = time.monotonic() + limit
    while True:
        names = os.listdir(directory)
        if any(n.startswith("running-") and n.split("-")[1] != str(os.getpid()) for n in names):
            open(os.path.join(directory, "met"), "w").close()
            return True
        if "met" in names or "gave-up" in names:
            return False
        if time.monotonic() > deadline:
            open(os.path.join(directory, "gave-up"), "w").close()
            return False
        time.sleep(0.01)


def leave(directory, tag):
    """Run on an engine, at the end of a task that called ``meet(directory, tag)``."""
    import os
    try:
        os.remove(os.path.join(directory, f"running-{os.getpid()}-{tag}"))
    except FileNotFoundError:
        pass
