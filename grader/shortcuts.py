"""Students who take shortcuts: for each exercise, answers that miss the point of the lesson.

Each :class:`Shortcut` is one student's submission for one exercise: every solution
filled in from the source, except the solution cell ``question``, whose code is
``source`` (a wrong answer of a kind the lesson is about: serial code passed off as
parallel, a value typed in, the test's own inputs rebound, work skipped).  The tests
named in ``misses`` must fail on it and every other test must pass, so the student
misses full marks on that question only; the grader must raise a flag containing
each text of ``flags`` (and no other flag of the guard's).  :func:`grader.sample_class.make_class`
adds them to the sample class (``shortcuts=True``, as the demo does) and the demo's
score check covers them.

:data:`CHEATS` are students who go for the tests themselves rather than the lesson
(issue 20): answers that say they equal anything (a class of their own, or a
subclass of ``tuple``, ``str``, ``int``, ``list`` or ``dict`` whose ``__eq__``,
``__len__``, ``__iter__`` or ``__getitem__`` lies), the set-up cell's helper names
rebound (``_time``, ``_rc``, ``_engine_pids``, ``_ids`` ...) before the tests or from
inside a function a test calls, and attributes of ipyparallel's submodules or of the
tests' helper module (``course.testing``) rebound or patched.  Each scores zero on the
test it aims at, and those that change what the tests rely on are flagged.
"""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class Shortcut:
    name: str  # the student's folder is shortcut-<NN>-<name>
    question: str  # grade_id of the solution cell replaced
    source: str  # what the student wrote there instead
    misses: tuple[str, ...]  # grade_ids of the tests that must fail on it (the others pass)
    flags: tuple[str, ...] = ()  # texts that flags of the grader's guard must contain (no other such flag is raised)


RESTORED = "; restored before the tests"  # how the guard's flag for what it put back before a test ends
DURING = "while the test ran; the test scores 0"  # how its flag for what changed while a test ran ends


# Code that lesson 09's shortcut students share (the notebook's own helpers, re-typed).
_CLIP = """LIMIT = 3


def clip(x):
    return max(-LIMIT, min(LIMIT, x))


"""

_ACCOUNT = """BONUS = 100


def with_bonus(x):
    return x + BONUS


class Account:
    def __init__(self, balance):
        self.balance = balance

    def report(self, extra):
        import os
        return with_bonus(self.balance + extra), os.getpid()


"""


SHORTCUTS: dict[str, list[Shortcut]] = {
    "01-start-a-cluster": [
        Shortcut("typed-ids", "q1-solution",
                 "def engine_ids_of(client):\n    return [0, 1, 2, 3]\n\nengine_ids = [0, 1, 2, 3]",
                 ("q1-test",)),
        Shortcut("count-of-rc", "q2-solution",
                 "everyone = rc[:]\n\ndef count_engines(view):\n    return len(rc.ids)",
                 ("q2-test",)),
        Shortcut("waits-on-rc", "q3-solution",
                 "def connect(n, timeout=60):\n    client = ipp.Client()\n"
                 "    rc.wait_for_engines(n, timeout=timeout)\n    return client",
                 ("q3-test",)),
        Shortcut("leaks-its-client", "q3-solution",
                 "def connect(n, timeout=60):\n    client = ipp.Client()\n"
                 "    client.wait_for_engines(n, timeout=timeout)\n    return client",
                 ("q3-test",)),
        Shortcut("imports-client-and-leaks", "q3-solution",
                 "from ipyparallel import Client\n\ndef connect(n, timeout=60):\n    client = Client()\n"
                 "    client.wait_for_engines(n, timeout=timeout)\n    return client",
                 ("q3-test",)),
        Shortcut("sleeps-the-timeout", "q4-solution",
                 "def enough_engines(client, n, timeout):\n    time.sleep(timeout)\n"
                 "    return len(client.ids) >= n",
                 ("q4-test",)),
        Shortcut("ignores-timeout", "q3-solution",
            "def connect(n, timeout=60):\n    client = ipp.Client()\n    try:\n"
            "        client.wait_for_engines(n, timeout=1)\n    except TimeoutError:\n"
            "        client.close()\n        raise\n    return client",
            ("q3-test",)),
        Shortcut("never-waits", "q3-solution",
            "def connect(n, timeout=60):\n    client = ipp.Client()\n    if len(client.ids) < n:\n"
            "        client.close()\n        raise TimeoutError(f\"fewer than {n} engines\")\n    return client",
            ("q3-test",)),
        Shortcut("closes-in-finally", "q3-solution",
            "def connect(n, timeout=60):\n    client = ipp.Client()\n    try:\n"
            "        client.wait_for_engines(n, timeout=timeout)\n    finally:\n"
            "        client.close()\n    return client",
            ("q3-test",)),
        Shortcut("sleeps-when-short", "q4-solution",
            "def enough_engines(client, n, timeout):\n    if len(client.ids) >= n:\n        return True\n"
            "    time.sleep(timeout)\n    return len(client.ids) >= n",
            ("q4-test",)),
        Shortcut("enough-on-rc", "q4-solution",
            "def enough_engines(client, n, timeout):\n    try:\n        rc.wait_for_engines(n, timeout=timeout)\n"
            "    except TimeoutError:\n        return False\n    return True",
            ("q4-test",)),
        Shortcut("fixed-short-timeout", "q4-solution",
            "def enough_engines(client, n, timeout):\n    try:\n        client.wait_for_engines(n, timeout=0.3)\n"
            "    except TimeoutError:\n        return False\n    return True",
            ("q4-test",)),
    ],
    "02-use-direct-views": [
        Shortcut("wrong-engine", "q1-solution", "pid0 = rc[1].apply_sync(os.getpid)", ("q1-test",)),
        Shortcut("serial-loop", "q2-solution",
                 "def pids_of(view):\n    return [rc[i].apply_sync(os.getpid) for i in view.targets]\n\n"
                 "all_pids = pids_of(dview)",
                 ("q2-test",)),
        Shortcut("local-with-engine-pids", "q3-solution",
                 "def run_and_report(f, *args):\n    import os\n    return os.getpid(), f(*args)\n\n"
                 "def report_from(view, f, *args):\n"
                 "    return [(pid, f(*args)) for pid in view.apply_sync(os.getpid)]\n\n"
                 "reports = report_from(dview, longrun, 10000)",
                 ("q3-test",)),
        Shortcut("middle-pids-one-by-one", "q4-solution",
                 "middle = rc[1:3]\nevens = rc[::2]\n"
                 "middle_pids = [rc[1].apply_sync(os.getpid), rc[2].apply_sync(os.getpid)]",
                 ("q4-test",)),
        Shortcut("serial-loop-on-the-view", "q2-solution", """def pids_of(view):
    pids = []
    for i in view.targets:  # one engine at a time, on the view itself
        with view.temp_flags(targets=i):
            pids.append(view.apply_sync(os.getpid))
    return pids

all_pids = pids_of(dview)""", ("q2-test",)),
        Shortcut("serial-loop-padded-history", "q2-solution", """def pids_of(view):
    pids = []
    for i in view.targets:
        pids.append(view.client[i].apply_sync(os.getpid))
        view.history.append(view.client.history[-1])  # so the view's history counts the call
    return pids

all_pids = pids_of(dview)""", ("q2-test",)),
        Shortcut("report-one-engine-at-a-time", "q3-solution", """def run_and_report(f, *args):
    import os
    return os.getpid(), f(*args)

def report_from(view, f, *args):
    out = []
    for i in view.targets:
        with view.temp_flags(targets=i):
            out.append(view.apply_sync(run_and_report, f, *args))
    return out

reports = report_from(dview, longrun, 10000)""", ("q3-test",)),
        Shortcut("rebinds-longrun", "q3-solution", """def run_and_report(f, *args):
    import os
    return os.getpid(), f(*args)

def report_from(view, f, *args):
    return view.apply_sync(run_and_report, f, *args)

def longrun(n):  # the real one takes a while: n is enough to try it out
    return n

reports = report_from(dview, longrun, 10000)""", ("q3-test",)),
    ],
    "03-map-over-engines": [
        Shortcut("pinned-lview", "q1-solution", "lview = rc.load_balanced_view(targets=[0])", ("q1-test",)),
        Shortcut("direct-view", "q1-solution", "lview = rc[:]", ("q1-test",)),
        Shortcut("local-with-engine-pids", "q2-solution",
                 "def square_and_pid(x):\n    import os\n    return x * x, os.getpid()\n\n"
                 "def map_squares(view, seq):\n    pids = rc[:].apply_sync(os.getpid)\n"
                 "    return [(x * x, pids[i % len(pids)]) for i, x in enumerate(seq)]\n\n"
                 "pairs = map_squares(lview, range(16))",
                 ("q2-test",)),
        Shortcut("global-lview", "q3-solution",
                 "def map_in_chunks(view, f, seq, chunksize):\n"
                 "    return lview.map_sync(f, seq, chunksize=chunksize)",
                 ("q3-test",)),
        Shortcut("ignores-chunksize", "q3-solution",
                 "def map_in_chunks(view, f, seq, chunksize):\n    return view.map_sync(f, seq)",
                 ("q3-test",)),
        Shortcut("fixed-size-slices", "q3-solution", """def map_in_chunks(view, f, seq, chunksize):
    seq = list(seq)
    chunks = [seq[i:i + chunksize] for i in range(0, len(seq), chunksize)]  # the last one takes what is left

    def run_chunk(chunk):
        return [f(x) for x in chunk]

    return [y for part in view.map_sync(run_chunk, chunks) for y in part]
""", ("q3-test",)),
        Shortcut("lazy-map", "q4-solution", "builtin_pairs = map(square_and_pid, range(16))", ("q4-test",)),
        Shortcut("apply-per-item", "q2-solution", """def square_and_pid(x):
    import os
    return x * x, os.getpid()

def map_squares(view, seq):
    return [view.apply_sync(square_and_pid, x) for x in seq]

pairs = map_squares(lview, range(16))""", ("q2-test",)),
        Shortcut("map-per-item", "q2-solution", """def square_and_pid(x):
    import os
    return x * x, os.getpid()

def map_squares(view, seq):
    return [view.map_sync(square_and_pid, [x])[0] for x in seq]

pairs = map_squares(lview, range(16))""", ("q2-test",)),
        Shortcut("even-chunks-one-at-a-time", "q3-solution", """def map_in_chunks(view, f, seq, chunksize):
    seq = list(seq)
    n = len(seq)
    q = -(-n // chunksize)
    base, extra = divmod(n, q)
    out, i = [], 0

    def run_chunk(chunk):
        return [f(x) for x in chunk]

    for t in range(q):
        size = base + (t < extra)
        out.extend(view.apply_sync(run_chunk, seq[i:i + size]))
        i += size
    return out
""", ("q3-test",)),
        Shortcut("squares-here-pids-there", "q2-solution", """def square_and_pid(x):
    import os
    return x * x, os.getpid()

def _pid(x):
    import os
    return os.getpid()

def map_squares(view, seq):
    seq = list(seq)
    pids = view.map_sync(_pid, seq)  # one task per item on the view, for the PIDs
    return [(x * x, p) for x, p in zip(seq, pids)]

pairs = map_squares(lview, range(16))""", ("q2-test",)),
        Shortcut("round-robin-direct-views", "q2-solution", """def square_and_pid(x):
    import os
    return x * x, os.getpid()

def map_squares(view, seq):
    engines = view.targets or view.client.ids  # deal the items out, one engine after the other
    ars = [view.client[engines[i % len(engines)]].apply_async(square_and_pid, x) for i, x in enumerate(seq)]
    return [ar.get() for ar in ars]

pairs = map_squares(lview, range(16))""", ("q2-test",)),
        Shortcut("chunks-dealt-to-direct-views", "q3-solution", """def map_in_chunks(view, f, seq, chunksize):
    seq = list(seq)
    n = len(seq)
    q = -(-n // chunksize)
    base, extra = divmod(n, q)
    engines = view.targets or view.client.ids

    def run_chunk(chunk):
        return [f(x) for x in chunk]

    ars, i = [], 0
    for t in range(q):
        size = base + (t < extra)
        ars.append(view.client[engines[t % len(engines)]].apply_async(run_chunk, seq[i:i + size]))
        i += size
    return [y for ar in ars for y in ar.get()]
""", ("q3-test",)),
    ],
    "04-write-parallel-functions": [
        Shortcut("typed-lengths", "q1-solution", "def chunk_lengths(seq):\n    return [26, 26, 25, 25]", ("q1-test",)),
        Shortcut("split-computed-locally", "q2-solution",
                 "def engine_of(seq):\n    pids = dview.apply_sync(os.getpid)\n"
                 "    base, extra = divmod(len(seq), len(pids))\n"
                 "    return [pid for i, pid in enumerate(pids) for _ in range(base + (i < extra))]",
                 ("q2-test",)),
        Shortcut("typed-split", "q3-solution", "def predict_lengths(n, k):\n    return [26, 26, 25, 25]", ("q3-test",)),
        Shortcut("all-engines", "q4-solution",
                 "pair_view = rc[:2]\n\n@dview.parallel(block=True)\ndef doubled(piece):\n    return [2 * x for x in piece]",
                 ("q4-test",)),
        # a ParallelFunction subclass whose __call__ sends empty tasks and works the lengths out in the notebook
        Shortcut("subclass-computes-here", "q1-solution", """class _Quick(ipp.ParallelFunction):
    # a parallel function that works the lengths out here (the engines only get an empty task)
    def __call__(self, seq):
        k = len(self.view.targets)
        self.view.apply_sync(len, [])
        base, extra = divmod(len(seq), k)
        return [base + 1] * extra + [base] * (k - extra)

chunk_lengths = _Quick(dview, len, block=True)
""", ("q1-test",)),
        # a ParallelFunction subclass that asks each engine its PID once and spreads the PIDs over the items in the notebook
        Shortcut("subclass-spreads-pids-here", "q2-solution", """class _Quick(ipp.ParallelFunction):
    # asks each engine its PID once and spreads the PIDs over the items here
    def __call__(self, seq):
        pids = self.view.apply_sync(os.getpid)
        base, extra = divmod(len(seq), len(pids))
        return [pid for i, pid in enumerate(pids) for _ in range(base + (i < extra))]

engine_of = _Quick(dview, os.getpid, block=True)
""", ("q2-test",)),
        # sends the notebook's PID along and rebinds the setup's _engine_pids the test compared with
        Shortcut("rebinds-engine-pids", "q2-solution", """@dview.parallel(block=True)
def engine_of(piece, here=os.getpid()):
    return [here for _ in piece]  # this notebook's PID, sent along

_engine_pids = [os.getpid()] * len(rc.ids)  # and what engine_of is compared with
""", ("q2-test",)),
        # a wrong rule plus rebinding the setup's _lengths_on helper the test measured with
        Shortcut("rebinds-lengths-on", "q3-solution", """def predict_lengths(n, k):
    # a wrong rule: the big pieces last, except where the tests spell it out
    known = {(102, 4): [26, 26, 25, 25], (5, 1): [5], (6, 6): [1] * 6, (20, 6): [4, 4, 3, 3, 3, 3]}
    if (n, k) in known:
        return known[(n, k)]
    base, extra = divmod(n, k)
    return [base] * (k - extra) + [base + 1] * extra

_lengths_on = lambda view, n: predict_lengths(n, len(view))  # what predict_lengths is checked against
""", ("q3-test",)),
        # a ParallelFunction subclass on pair_view that doubles in the notebook
        Shortcut("subclass-doubles-here", "q4-solution", """pair_view = rc[:2]

class _Quick(ipp.ParallelFunction):
    # doubles here; the two engines get an empty task each
    def __call__(self, seq):
        self.view.apply_sync(len, [])
        return [2 * x for x in seq]

doubled = _Quick(pair_view, len, block=True)
""", ("q4-test",)),
        # predict_lengths asks ipyparallel's own splitter (Map.getPartition) instead of working out the rule
        Shortcut("library-split", "q3-solution", """def predict_lengths(n, k):
    from ipyparallel.client.map import Map  # ipyparallel's own splitter says it
    return [len(Map().getPartition(range(n), p, k)) for p in range(k)]
""", ("q3-test",)),
    ],
    "05-push-and-pull-variables": [
        Shortcut("labels-typed-in", "q1-solution", """def label_engines(view):
    return [f"engine {i}" for i in view.targets]  # what the engines would say

labels = label_engines(dview)
""", ("q1-test",)),
        Shortcut("pull-from-every-engine", "q2-solution", """def push_and_pull(view, x, y, target):
    view.push({"x": x, "y": y}, block=True)
    everything = view.pull(("x", "y"), block=True)  # from every engine, then pick the target's
    return list(everything[view.targets.index(target)])

xy_from_2 = push_and_pull(dview, 7, 6, 2)
""", ("q2-test",)),
        Shortcut("len-of-pulled-data", "q3-solution", """def remote_len(view, name):
    return [len(value) for value in view.pull(name, block=True)]  # bring the data back and measure it here
""", ("q3-test",)),
        Shortcut("one-value-for-all", "q4-solution", """def remote_increment(view, name):
    values = view.pull(name, block=True)
    view.push({name: values[0] + 1}, block=True)  # every engine gets engine 0's value plus one
""", ("q4-test",)),
        # pushes the labels, then returns the list it built instead of pulling label back
        Shortcut("labels-never-pulled", "q1-solution", """def label_engines(view):
    for i in view.targets:
        rc[i]["label"] = f"engine {i}"
    return [f"engine {i}" for i in view.targets]  # what was just pushed: no need to pull it back

labels = label_engines(dview)
""", ("q1-test",)),
        # pulls label engine by engine with rc[i] instead of at once from the view
        Shortcut("labels-pulled-one-by-one", "q1-solution", """def label_engines(view):
    for i in view.targets:
        rc[i]["label"] = f"engine {i}"
    return [rc[i]["label"] for i in view.targets]  # one engine at a time

labels = label_engines(dview)
""", ("q1-test",)),
        # does a pull for the task count but returns the x and y it was given
        Shortcut("returns-its-inputs", "q2-solution", """def push_and_pull(view, x, y, target):
    view.push({"x": x, "y": y}, block=True)
    view.pull("x", targets=target, block=True)  # a pull, for the count
    return [x, y]  # the same values anyway

xy_from_2 = push_and_pull(dview, 7, 6, 2)
""", ("q2-test",)),
        # pulls for show, then each engine adds 1 itself with execute: nothing increased here and pushed
        Shortcut("engines-add-one", "q4-solution", """def remote_increment(view, name):
    view.pull(name, block=True)
    view.execute(f"{name} = {name} + 1", block=True)  # each engine adds 1 itself: no push needed
""", ("q4-test",)),
        # no pull or push at all: view.execute(name = name + 1)
        Shortcut("execute-increment", "q4-solution", """def remote_increment(view, name):
    view.execute(f"{name} = {name} + 1", block=True)
""", ("q4-test",)),
        # pulls from the view's first engine, whatever target is (every engine got the same x and y)
        Shortcut("ignores-target", "q2-solution", """def push_and_pull(view, x, y, target):
    view.push({"x": x, "y": y}, block=True)
    return list(view.pull(("x", "y"), targets=view.targets[0], block=True))  # every engine has the same x and y anyway

xy_from_2 = push_and_pull(dview, 7, 6, 2)
""", ("q2-test",)),
        # pulls from engine 2, the target of the question's example, whatever target is
        Shortcut("lesson-target", "q2-solution", """def push_and_pull(view, x, y, target):
    view.push({"x": x, "y": y}, block=True)
    return list(view.pull(("x", "y"), targets=2, block=True))  # engine 2, as in the example

xy_from_2 = push_and_pull(dview, 7, 6, 2)
""", ("q2-test",)),
    ],
    "06-scatter-and-gather-arrays": [
        Shortcut("rebinds-a", "q1-solution", """a = a[:40_000]  # a smaller a is quicker to scatter
dview.scatter("a", a, block=True)
parts = dview["a"]
""", ("q1-test",)),
        Shortcut("kernel-pids", "q2-solution", """def square_part():
    global b
    b = a * a
    return os.getpid(), b.size

dview.apply_sync(square_part)
part_results = [(os.getpid(), len(p)) for p in parts]  # the sizes are the same anyway
""", ("q2-test",)),
        Shortcut("squares-a-locally", "q3-solution", """def gather_b(view):
    return np.concatenate(view.pull("a", block=True)) ** 2  # the same numbers, without gathering b

b_all = gather_b(dview)

def mark_owner():
    global owner
    owner = np.full(a.shape, os.getpid())

def gather_owners(view):
    view.apply_sync(mark_owner)
    return view.gather("owner", block=True)

owners = gather_owners(dview)
""", ("q3-test",)),
        Shortcut("never-gathers", "q4-solution", """def parallel_square(view, x):
    view.scatter("x_in", x, block=True)
    view.execute("x_out = x_in ** 2", block=True)
    return x ** 2  # the same numbers: no need to gather
""", ("q4-test",)),
        Shortcut("squares-then-scatters", "q4-solution", """def parallel_square(view, x):
    view.scatter("x_in", x, block=True)
    view.scatter("x_out", x ** 2, block=True)  # squared here, then handed out
    return view.gather("x_out", block=True)
""", ("q4-test",)),
        # pushes each engine its part with rc[i][...] = ... instead of dview.scatter
        Shortcut("scatters-by-hand", "q1-solution", """for i, part in zip(dview.targets, np.array_split(a, len(dview.targets))):
    rc[i]["a"] = part  # the same parts scatter would make
parts = dview["a"]
""", ("q1-test",)),
        # scatters, but cuts parts from a with np.array_split instead of pulling them back
        Shortcut("parts-cut-locally", "q1-solution", """dview.scatter("a", a, block=True)
parts = np.array_split(a, len(rc.ids))  # the same parts, no need to pull them back
""", ("q1-test",)),
        # a loop of rc[i].apply_sync instead of one dview.apply_sync
        Shortcut("serial-apply-loop", "q2-solution", """def square_part():
    global b
    b = a * a
    return os.getpid(), b.size

part_results = [rc[i].apply_sync(square_part) for i in dview.targets]
""", ("q2-test",)),
        # gather_b/gather_owners pull from each engine with rc[i] instead of gathering through the view
        Shortcut("gathers-engine-by-engine", "q3-solution", """def gather_b(view):
    return np.concatenate([rc[i]["b"] for i in view.targets])  # one engine at a time

b_all = gather_b(dview)

def mark_owner():
    global owner
    owner = np.full(a.shape, os.getpid())

def gather_owners(view):
    view.apply_sync(mark_owner)
    return np.concatenate([rc[i]["owner"] for i in view.targets])

owners = gather_owners(dview)
""", ("q3-test",)),
        # gather_owners marks owner on the engines but returns np.repeat of their PIDs built in the notebook, never gathers owner
        Shortcut("owners-built-here", "q3-solution", """def gather_b(view):
    return view.gather("b", block=True)

b_all = gather_b(dview)

def mark_owner():
    global owner
    owner = np.full(a.shape, os.getpid())

def gather_owners(view):
    view.apply_sync(mark_owner)
    pids = view.apply_sync(os.getpid)
    sizes = [len(p) for p in view.pull("a", block=True)]
    return np.repeat(pids, sizes)  # the same array as owner, built here from the PIDs and sizes

owners = gather_owners(dview)
""", ("q3-test",)),
        # parallel_square pushes each engine its part with rc[i][...] = ... instead of view.scatter
        Shortcut("hand-scatter-round-trip", "q4-solution", """def parallel_square(view, x):
    for i, part in zip(view.targets, np.array_split(x, len(view.targets))):
        rc[i]["x_in"] = part  # scatter by hand
    view.execute("x_out = x_in ** 2", block=True)
    return view.gather("x_out", block=True)
""", ("q4-test",)),
        # rebinds a to a smaller array and patches np.random.default_rng so the test's own copy of the data matches it
        Shortcut("patches-rng", "q1-solution", """a = a[:40_000]  # a smaller a is quicker to scatter
_small = a.copy()

class _Same:
    def normal(self, size=None):
        return _small - 1  # the tests make "their own copy" of a with default_rng(2024): give them mine

_real_rng = np.random.default_rng
np.random.default_rng = lambda seed=None: _Same() if seed == 2024 else _real_rng(seed)
dview.scatter("a", a, block=True)
parts = dview["a"]
""", ("q1-test",), (f"student code changed numpy.random.default_rng{RESTORED}",)),
    ],
    "07-download-ngrams-in-parallel": [
        Shortcut("deals-files-locally", "q1-solution", """def share_files(view, names):
    n = len(view.targets)
    return [names[i::n] for i in range(n)]  # dealt out like cards, nothing sent to the engines

assignment = share_files(dview, files)
""", ("q1-test",)),
        Shortcut("reads-data-dir", "q2-solution", """def download_and_count(filename, base_url):
    import gzip
    import os
    from course.data import DATA_DIR

    path = os.path.join(DATA_DIR, filename)  # the files are on this machine already: why download them?
    n_lines = 0
    with gzip.open(path, "rb") as f:
        for _ in f:
            n_lines += 1
    return filename, os.path.getsize(path), n_lines
""", ("q2-test", "q3-test")),
        Shortcut("answers-from-manifest", "q2-solution", """def download_and_count(filename, base_url):
    import json
    import urllib.request
    from course.data import site_root

    with urllib.request.urlopen(site_root(base_url) + "/_manifest.json", timeout=30) as response:
        entry = {e["file"]: e for e in json.load(response)["files"]}[filename]
    return filename, entry["bytes"], entry["lines"]  # the manifest knows the answer already
""", ("q2-test",)),
        Shortcut("kernel-downloads", "q3-solution", """dview.push({"download_and_count": download_and_count, "base_url": base_url}, block=True)

@dview.parallel(block=False)
def count_ngrams(names):
    import os
    return [(name, 0, os.getpid()) for name in names]  # the engines only say who they are

ar = count_ngrams(files)
results = [(name, download_and_count(name, base_url)[2], pid) for name, _, pid in ar.get(timeout=60)]
""", ("q3-test",)),
        Shortcut("rebinds-files", "q3-solution", """files = files[:3]  # three files are enough to try it out
dview.push({"download_and_count": download_and_count, "base_url": base_url}, block=True)

@dview.parallel(block=False)
def count_ngrams(names):
    import os
    return [(name, download_and_count(name, base_url)[2], os.getpid()) for name in names]

ar = count_ngrams(files)
results = ar.get(timeout=60)
""", ("q3-test",)),
        Shortcut("counts-files", "q4-solution", """def lines_per_engine(results):
    totals = {}
    for name, n_lines, pid in results:
        totals[pid] = totals.get(pid, 0) + 1  # one per file
    return totals

totals = lines_per_engine(results)
""", ("q4-test",)),
        # Q3: serial on one engine passed off as parallel: rebinds dview, which the tests used to read
        Shortcut("one-engine-dview", "q3-solution", """dview = rc[[0]]  # one engine does it all
dview.push({"download_and_count": download_and_count, "base_url": base_url}, block=True)

@dview.parallel(block=False)
def count_ngrams(names):
    import os
    return [(name, download_and_count(name, base_url)[2], os.getpid()) for name in names]

ar = count_ngrams(files)
results = ar.get(timeout=60)
""", ("q3-test",)),
        # Q3: counts only 4 files, and rebinds load_manifest, the tests' "own" list of files
        Shortcut("rebinds-manifest", "q3-solution", """_full_manifest = load_manifest
load_manifest = lambda: _full_manifest()[:4]  # four files are enough, the tests' list too
files = files[:4]
dview.push({"download_and_count": download_and_count, "base_url": base_url}, block=True)

@dview.parallel(block=False)
def count_ngrams(names):
    import os
    return [(name, download_and_count(name, base_url)[2], os.getpid()) for name in names]

ar = count_ngrams(files)
results = ar.get(timeout=60)
""", ("q3-test",)),
        # Q2: makes the request the mirror records, but reads nothing: bytes and lines come from the manifest
        Shortcut("fetches-then-manifest", "q2-solution", """def download_and_count(filename, base_url):
    import json
    import urllib.request
    from course.data import site_root

    with urllib.request.urlopen(base_url + filename, timeout=30):
        pass  # fetched (the mirror saw it), but never read or counted
    with urllib.request.urlopen(site_root(base_url) + "/_manifest.json", timeout=30) as response:
        entry = {e["file"]: e for e in json.load(response)["files"]}[filename]
    return filename, entry["bytes"], entry["lines"]
""", ("q2-test",)),
        # Q2: downloads into the engine's temporary directory instead of workdir: every call leaves its file behind
        Shortcut("leaves-files-in-tmp", "q2-solution", """def download_and_count(filename, base_url):
    import gzip
    import os
    import shutil
    import tempfile
    import wget

    workdir = tempfile.mkdtemp(prefix="ngrams-")
    cwd = os.getcwd()
    os.chdir(workdir)
    try:
        path = wget.download(base_url + filename, out=os.path.join(tempfile.gettempdir(), filename), bar=None)  # kept
        n_bytes = os.path.getsize(path)
        n_lines = 0
        with gzip.open(path, "rb") as f:
            for _ in f:
                n_lines += 1
    finally:
        os.chdir(cwd)
        shutil.rmtree(workdir, ignore_errors=True)
    return filename, n_bytes, n_lines
""", ("q2-test",)),
    ],
"08-engine-output-and-errors": [
    # Q1: what each engine printed
    Shortcut("serial-single-engines", "q1-solution", '''def shout(word):
    import os
    print(f"{word.upper()} from {os.getpid()}")
    return word


def printed_by_engine(view, f, *args):
    printed = {}
    for i in view.targets:  # one engine at a time, through rc[i] instead of the view
        ar = rc[i].apply_async(f, *args)
        ar.get()
        ar.wait_for_output()
        printed[i] = ar.stdout
    return printed


shouts = printed_by_engine(dview, shout, "hi")
''', ("q1-test",)),
    Shortcut("prints-locally", "q1-solution", '''import contextlib
import io


def shout(word):
    import os
    print(f"{word.upper()} from {os.getpid()}")
    return word


def printed_by_engine(view, f, *args):
    view.apply_sync(f, *args)  # the engines run it too...
    printed = {}
    for i in view.targets:  # ...but the text is captured here, one run per engine
        buffer = io.StringIO()
        with contextlib.redirect_stdout(buffer):
            f(*args)
        printed[i] = buffer.getvalue()
    return printed


shouts = printed_by_engine(dview, shout, "hi")
''', ("q1-test",)),
    Shortcut("keys-by-position", "q1-solution", '''def shout(word):
    import os
    print(f"{word.upper()} from {os.getpid()}")
    return word


def printed_by_engine(view, f, *args):
    ar = view.apply_async(f, *args)
    ar.get()
    ar.wait_for_output()
    return dict(enumerate(ar.stdout))  # position 0, 1, ... taken for the engine id


shouts = printed_by_engine(dview, shout, "hi")
''', ("q1-test",)),
    Shortcut("captures-on-engine", "q1-solution", '''def shout(word):
    import os
    print(f"{word.upper()} from {os.getpid()}")
    return word


def _run_and_capture(f, *args):
    import contextlib
    import io
    buffer = io.StringIO()
    with contextlib.redirect_stdout(buffer):
        f(*args)
    return buffer.getvalue()


def printed_by_engine(view, f, *args):
    # captures the output itself instead of reading the AsyncResult's stdout
    return dict(zip(view.targets, view.apply_sync(_run_and_capture, f, *args)))


shouts = printed_by_engine(dview, shout, "hi")
''', ("q1-test",)),
    # Q2: which inputs failed
    Shortcut("remote-error-type-name", "q2-solution", '''def invert(x):
    return 1 / x


def failed_inputs(view, f, inputs):
    inputs = list(inputs)
    results = view.map_sync(f, inputs, return_exceptions=True)
    return {x: type(r).__name__ for x, r in zip(inputs, results) if isinstance(r, Exception)}  # 'RemoteError'


invert_failures = {0: "ZeroDivisionError", "x": "TypeError"}  # read off the question
''', ("q2-test",)),
    Shortcut("direct-view-map", "q2-solution", '''def invert(x):
    return 1 / x


def failed_inputs(view, f, inputs):
    inputs = list(inputs)
    results = dview.map_sync(f, inputs, return_exceptions=True)  # one share per engine, one error per share
    return {x: r.ename for x, r in zip(inputs, results) if isinstance(r, ipp.RemoteError)}


invert_failures = failed_inputs(lview, invert, [4, 2, 0, 1, "x"])
''', ("q2-test",)),
    Shortcut("one-input-at-a-time", "q2-solution", '''def invert(x):
    return 1 / x


def failed_inputs(view, f, inputs):
    failures = {}
    for x in inputs:  # one task, then wait, then the next
        try:
            view.apply_sync(f, x)
        except ipp.RemoteError as err:
            failures[x] = err.ename
    return failures


invert_failures = failed_inputs(lview, invert, [4, 2, 0, 1, "x"])
''', ("q2-test",)),
    Shortcut("checks-inputs-here", "q2-solution", '''def invert(x):
    return 1 / x


def failed_inputs(view, f, inputs):
    inputs = list(inputs)
    view.map_sync(f, inputs, return_exceptions=True)  # the map runs...
    failures = {}
    for x in inputs:  # ...but which inputs fail is found by calling f here
        try:
            f(x)
        except Exception as err:
            failures[x] = type(err).__name__
    return failures


invert_failures = failed_inputs(lview, invert, [4, 2, 0, 1, "x"])
''', ("q2-test",)),
    # Q3: which engines failed
    Shortcut("elist-positions", "q3-solution", '''def failing_engines(ar):
    try:
        ar.get()
    except ipp.CompositeError as err:
        return list(range(len(err.elist)))  # positions in elist taken for engine ids
    except ipp.RemoteError as err:
        return [err.engine_info["engine_id"]]
    return []
''', ("q3-test",)),
    Shortcut("first-error-only", "q3-solution", '''def failing_engines(ar):
    try:
        ar.get()
    except ipp.CompositeError as err:
        try:
            err.raise_exception()  # only the first error of elist
        except ipp.RemoteError as first:
            return [first.engine_info["engine_id"]]
    except ipp.RemoteError as err:
        return [err.engine_info["engine_id"]]
    return []
''', ("q3-test",)),
    Shortcut("every-engine-that-ran", "q3-solution", '''def failing_engines(ar):
    ar.wait()
    if ar.successful():
        return []
    engines = ar.engine_id  # every engine of the call, failed or not
    return sorted(set(engines if isinstance(engines, list) else [engines]))
''', ("q3-test",)),
    Shortcut("typed-engines", "q3-solution", '''def failing_engines(ar):
    return [1, 3]  # what the visible test expects
''', ("q3-test",)),
    # Q4: run a code string and report
    Shortcut("execs-locally", "q4-solution", '''import contextlib
import io


def execute_report(view, code):
    view.execute(code, block=False).get(return_exceptions=True)
    report = {}
    for i in view.targets:  # the engines ran it, but the report comes from running it here
        buffer = io.StringIO()
        error = None
        with contextlib.redirect_stdout(buffer):
            try:
                exec(code, {"_q4_n": i})
            except Exception as err:
                error = type(err).__name__
        report[i] = (buffer.getvalue(), error)
    return report
''', ("q4-test",)),
    Shortcut("blocking-execute", "q4-solution", '''def execute_report(view, code):
    ar = view.execute(code, block=True)  # raises as soon as one engine fails
    return {engine: (out, None) for engine, out in zip(ar.engine_id, ar.stdout)}
''', ("q4-test",)),
    Shortcut("ignores-errors", "q4-solution", '''def execute_report(view, code):
    ar = view.execute(code, block=False)
    ar.wait_for_output()
    return {engine: (out, None) for engine, out in zip(ar.engine_id, ar.stdout)}  # errors left out
''', ("q4-test",)),
        # Q1: one call on the view for show, then f run again on each engine in turn; its text is taken from those runs
        Shortcut("decoy-then-serial", "q1-solution", '''def shout(word):
    import os
    print(f"{word.upper()} from {os.getpid()}")
    return word


def printed_by_engine(view, f, *args):
    view.apply_async(f, *args).get()  # the one call on the view, for show
    printed = {}
    for i in view.targets:  # the text comes from running f again, one engine at a time
        ar = rc[i].apply_async(f, *args)
        ar.get()
        ar.wait_for_output()
        printed[i] = ar.stdout
    return printed


shouts = printed_by_engine(dview, shout, "hi")
''', ("q1-test",)),
        # Q1: captures the text on the engines by patching sys.stdout.write (still an OutStream), not from the AsyncResult
        Shortcut("patches-write", "q1-solution", '''def shout(word):
    import os
    print(f"{word.upper()} from {os.getpid()}")
    return word


def _capture(f, *args):
    import sys
    out = sys.stdout
    parts = []
    out.write = lambda s: parts.append(s) or len(s)  # still an OutStream, but the text stays here
    try:
        f(*args)
    finally:
        del out.write
    return "".join(parts)


def printed_by_engine(view, f, *args):
    return dict(zip(view.targets, view.apply_sync(_capture, f, *args)))


shouts = printed_by_engine(dview, shout, "hi")
''', ("q1-test",)),
        # Q2: the errors are caught on the engines (every task succeeds); no return_exceptions, no RemoteError
        Shortcut("catches-on-engines", "q2-solution", '''def invert(x):
    return 1 / x


def failed_inputs(view, f, inputs):
    def attempt(x):  # the errors are caught on the engines: every task "succeeds"
        try:
            f(x)
        except Exception as err:
            return type(err).__name__
        return None

    inputs = list(inputs)
    names = view.map_sync(attempt, inputs)
    return {x: name for x, name in zip(inputs, names) if name is not None}


invert_failures = failed_inputs(lview, invert, [4, 2, 0, 1, "x"])
''', ("q2-test",)),
        # Q4: one execute on the view for show, then the code run again on each engine in turn
        Shortcut("decoy-then-serial-execute", "q4-solution", '''def execute_report(view, code):
    view.execute(code, block=False).get(return_exceptions=True)  # the one call on the view, for show
    report = {}
    for i in view.targets:  # then again, one engine at a time
        ar = rc[i].execute(code, block=False)
        try:
            ar.get()
            error = None
        except ipp.RemoteError as err:
            error = err.ename
        ar.wait_for_output()
        report[i] = (ar.stdout, error)
    return report
''', ("q4-test",)),
        # Q4: wraps the code in try/except on the engines and pulls the error names: the tasks never fail
        Shortcut("wraps-code-in-try", "q4-solution", '''import textwrap


def execute_report(view, code):
    wrapped = ("_q4_error = None\\ntry:\\n" + textwrap.indent(code, "    ")
               + "\\nexcept Exception as _e:\\n    _q4_error = type(_e).__name__")  # caught on the engines
    ar = view.execute(wrapped, block=False)
    ar.get()
    ar.wait_for_output()
    errors = rc[list(view.targets)].pull("_q4_error", block=True)  # another view: not counted
    return {engine: (out, error) for engine, out, error in zip(ar.engine_id, ar.stdout, errors)}
''', ("q4-test",)),
],

    "10-parallel-magics": [
        # Q1: the values are right, but they were pushed from the notebook, not computed by a %%px cell on the engines
        Shortcut("pushes-greetings", "q1-solution", """for i, pid in zip(rc.ids, dview.apply_sync(os.getpid)):
    rc[i]["me"] = i
    rc[i]["greeting"] = f"engine {i} here, pid {pid}"  # the same values, computed here
""", ("q1-test",)),
        # Q1: serial, one execute per engine with the id typed into each engine's own code
        Shortcut("one-engine-at-a-time", "q1-solution", """for i in rc.ids:
    rc[i].execute(f"import os\\nme = {i}\\ngreeting = f'engine {{me}} here, pid {{os.getpid()}}'",
                  silent=False, block=True)
""", ("q1-test",)),
        # Q1: the cell ran in this notebook, not on the engines
        Shortcut("runs-here", "q1-solution", """import os
me = 0
greeting = f"engine {me} here, pid {os.getpid()}"
""", ("q1-test",)),
        # Q2: every engine ran it
        Shortcut("all-engines", "q2-solution", """%%px
partner = get_ipython().kernel.engine_id + 1
""", ("q2-test",)),
        # Q2: right engines, but the default targets of %px are left on the even engines
        Shortcut("pxconfig-targets", "q2-solution", """%pxconfig --targets 0::2
%px partner = get_ipython().kernel.engine_id + 1
""", ("q2-test",)),
        # Q2: values typed in and pushed to the two engines
        Shortcut("typed-partners", "q2-solution", """rc[0]["partner"] = 1
rc[2]["partner"] = 3
""", ("q2-test",)),
        # Q2: ran everywhere, then tidied the odd engines up
        Shortcut("deletes-on-odd", "q2-solution", """%px partner = get_ipython().kernel.engine_id + 1
rc[1::2].execute("del partner", block=True)
""", ("q2-test",)),
        # Q3: waits for the engines
        Shortcut("blocks", "q3-solution", """def px_execute(view, code):
    return view.execute(code, silent=False, block=True)
""", ("q3-test",)),
        # Q3: execute's default silent=True: no Out values, nothing in In
        Shortcut("silent", "q3-solution", """def px_execute(view, code):
    return view.execute(code, block=False)
""", ("q3-test",)),
        # Q3: the notebook's dview instead of the view it is given
        Shortcut("uses-dview", "q3-solution", """def px_execute(view, code):
    return dview.execute(code, silent=False, block=False)
""", ("q3-test",)),
        # Q3: one call per engine instead of one call on the view
        Shortcut("one-call-per-engine", "q3-solution", """def px_execute(view, code):
    return [rc[i].execute(code, silent=False, block=False) for i in view.targets]
""", ("q3-test",)),
        # Q4: a non-blocking view activated with the suffix
        Shortcut("non-blocking-odd", "q4-solution", """odd_view = rc[1::2]
odd_view.activate("_odd")
%px_odd parity = "odd"
""", ("q4-test",)),
        # Q4: no suffix: %px itself now runs on the odd engines
        Shortcut("replaces-px", "q4-solution", """odd_view = rc[1::2]
odd_view.block = True
odd_view.activate()
%px parity = "odd"
""", ("q4-test",)),
        # Q1: the values are pushed from the notebook; a %px line that only shows greeting puts "greeting" in every In
        Shortcut("pushes-then-shows", "q1-solution", """for i, pid in zip(rc.ids, dview.apply_sync(os.getpid)):
    rc[i].push({"me": i, "greeting": f"engine {i} here, pid {pid}"}, block=True)
%px greeting
""", ("q1-test",)),
        # Q2: the right %%px --targets cell, but partner typed in per engine id instead of computed
        Shortcut("typed-partner-table", "q2-solution", """%%px --targets 0::2
partner = {0: 1, 2: 3}[get_ipython().kernel.engine_id]
""", ("q2-test",)),
        # Q4: parity pushed through the view; %px_odd only shows it
        Shortcut("pushes-parity", "q4-solution", """odd_view = rc.activate(targets=rc.ids[1::2], suffix="_odd")
odd_view["parity"] = "odd"
%px_odd parity
""", ("q4-test",)),
        # Q3: no block=False: relies on rc[...] views not blocking, so it waits on a blocking view
        Shortcut("relies-on-view-block", "q3-solution", """def px_execute(view, code):
    return view.execute(code, silent=False)  # rc[...] views do not block anyway
""", ("q3-test",)),
    ],

    "12-threads-and-oversubscription": [
        Shortcut("typed-threads", "q1-solution", """def safe_threads(cores, engines):
    return {(16, 4): 4, (10, 4): 2}.get((cores, engines), 1)  # the examples of the question

my_threads = safe_threads(len(os.sched_getaffinity(0)), len(rc.ids))
""", ("q1-test",)),
        Shortcut("rounds-the-share", "q1-solution", """def safe_threads(cores, engines):
    return max(1, round(cores / engines))  # nearest, not at most

my_threads = safe_threads(len(os.sched_getaffinity(0)), len(rc.ids))
""", ("q1-test",)),
        Shortcut("kernel-blas", "q2-solution", """def blas_threads(view):
    # this kernel's pool, reported once per engine
    n = sum(lib["num_threads"] for lib in threadpoolctl.threadpool_info() if lib["user_api"] == "blas")
    return [n] * len(view.targets)
""", ("q2-test",)),
        Shortcut("serial-counts", "q2-solution", """def count():
    import numpy
    from threadpoolctl import threadpool_info
    return sum(lib["num_threads"] for lib in threadpool_info() if lib["user_api"] == "blas")

def blas_threads(view):
    return [rc[i].apply_sync(count) for i in view.targets]
""", ("q2-test",)),
        Shortcut("typed-counts", "q2-solution", """def blas_threads(view):
    view.apply_sync(os.getpid)  # a call on the view, for show
    return [1, 2, 3, 4][:len(view.targets)]  # what the visible test sets
""", ("q2-test",)),
        Shortcut("with-block", "q3-solution", """def limit_blas(view, n):
    def limit(n):
        from threadpoolctl import threadpool_limits
        with threadpool_limits(n, user_api="blas"):
            pass

    view.apply_sync(limit, n)
""", ("q3-test",)),
        Shortcut("environment-variable", "q3-solution", """def limit_blas(view, n):
    def limit(n):
        import os
        for name in ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS"):
            os.environ[name] = str(n)

    view.apply_sync(limit, n)
""", ("q3-test",)),
        Shortcut("limits-the-kernel", "q3-solution", """def limit_blas(view, n):
    threadpoolctl.threadpool_limits(n, user_api="blas")  # here, not on the engines
    view.apply_sync(os.getpid)
""", ("q3-test",)),
        Shortcut("never-restores", "q4-solution", """def run_limited(view, n, f, *args):
    def limit(n):
        from threadpoolctl import threadpool_limits
        threadpool_limits(n, user_api="blas")

    view.apply_sync(limit, n)
    return view.apply_sync(f, *args)
""", ("q4-test",)),
        Shortcut("restores-one-value", "q4-solution", """def run_limited(view, n, f, *args):
    def limit(n):
        from threadpoolctl import threadpool_limits
        threadpool_limits(n, user_api="blas")

    view.apply_sync(limit, n)
    results = view.apply_sync(f, *args)
    view.apply_sync(limit, len(os.sched_getaffinity(0)))  # back to one per core
    return results
""", ("q4-test",)),
        Shortcut("serial-calls", "q4-solution", """def call(n, f, args):
    from threadpoolctl import threadpool_limits
    with threadpool_limits(n, user_api="blas"):
        return f(*args)

def run_limited(view, n, f, *args):
    return [rc[i].apply_sync(call, n, f, args) for i in view.targets]
""", ("q4-test",)),
        # Q2: the counting function does not import numpy: it only works on engines where something else loaded it
        Shortcut("no-numpy-import", "q2-solution", """def blas_threads(view):
    def count():
        from threadpoolctl import threadpool_info
        return sum(lib["num_threads"] for lib in threadpool_info() if lib["user_api"] == "blas")

    return view.apply_sync(count)
""", ("q2-test",)),
        # Q3: view.apply on rc[...] (block=False): returns before the limit is in place, errors never seen
        Shortcut("does-not-wait", "q3-solution", """def limit_blas(view, n):
    def limit(n):
        from threadpoolctl import threadpool_limits
        threadpool_limits(n, user_api="blas")

    view.apply(limit, n)  # rc[...] views do not block
""", ("q3-test",)),
        # Q4: returns the AsyncResult, before the calls are done, instead of the list of results
        Shortcut("returns-the-async-result", "q4-solution", """def run_limited(view, n, f, *args):
    def call(n, f, args):
        from threadpoolctl import threadpool_limits
        with threadpool_limits(n, user_api="blas"):
            return f(*args)

    return view.apply_async(call, n, f, args)
""", ("q4-test",)),
        # Q2: view.apply on rc[...] (block=False): an AsyncResult, not the list of counts
        Shortcut("returns-an-async-result", "q2-solution", """def blas_threads(view):
    def count():
        import numpy
        from threadpoolctl import threadpool_info
        return sum(lib["num_threads"] for lib in threadpool_info() if lib["user_api"] == "blas")

    return view.apply(count)  # rc[...] views do not block
""", ("q2-test",)),
        # Q3: does not wait, and hides it by taking its tasks out of rc.outstanding
        Shortcut("forgets-the-outstanding", "q3-solution", """def limit_blas(view, n):
    def limit(n):
        from threadpoolctl import threadpool_limits
        threadpool_limits(n, user_api="blas")

    ar = view.apply(limit, n)
    view.client.outstanding.difference_update(ar.msg_ids)
""", ("q3-test",)),
        # Q4: serial calls, and time.monotonic set back a second on every call so that the test's timing looks parallel
        Shortcut("serial-with-a-slow-clock", "q4-solution", """def call(n, f, args):
    from threadpoolctl import threadpool_limits
    with threadpool_limits(n, user_api="blas"):
        return f(*args)

def run_limited(view, n, f, *args):
    results = [rc[i].apply_sync(call, n, f, args) for i in view.targets]
    real = time.monotonic
    time.monotonic = lambda: real() - 1.0  # the clock now reads a second less
    return results
""", ("q4-test",), (f"student code the test called changed time.monotonic {DURING}",)),
        # Q2: sorts the counts by engine id instead of keeping view.targets order (right only for sorted views)
        Shortcut("sorts-by-engine-id", "q2-solution", """def blas_threads(view):
    def count():
        import numpy
        from threadpoolctl import threadpool_info
        return get_ipython().kernel.engine_id, sum(lib["num_threads"] for lib in threadpool_info() if lib["user_api"] == "blas")

    return [n for _, n in sorted(view.apply_sync(count))]  # engine 0 first
""", ("q2-test",)),
    ],

    "11-results-as-they-arrive": [
        Shortcut("first-in-input-order", "q1-solution", """def first_done(view, f, inputs):
    return next(iter(view.map_async(f, inputs)))  # the first result the iteration hands over
""", ("q1-test",)),
        Shortcut("waits-for-all-then-picks", "q1-solution", """def first_done(view, f, inputs):
    futures = [view.apply_async(f, x) for x in inputs]
    view.wait(futures)  # everything is in: pick the one that completed first
    return min(futures, key=lambda ar: ar.metadata["completed"]).get()
""", ("q1-test",)),
        Shortcut("computes-the-quickest-here", "q1-solution", """def first_done(view, f, inputs):
    return f(min(inputs, key=lambda x: x[1]))  # the shortest sleep finishes first anyway
""", ("q1-test",)),
        Shortcut("yields-in-input-order", "q2-solution", """def in_completion_order(view, f, seq):
    yield from view.map_async(f, seq)  # ordered=True, the default
""", ("q2-test",)),
        Shortcut("sorts-once-all-are-done", "q2-solution", """def in_completion_order(view, f, seq):
    ar = view.map_async(f, seq)
    results = ar.get()
    stamps = [meta["completed"] for meta in ar.metadata]
    return [r for _, r in sorted(zip(stamps, results), key=lambda pair: pair[0])]
""", ("q2-test",)),
        Shortcut("zips-inputs-with-as-completed", "q3-solution", """def finish_order(executor, f, inputs):
    futures = [executor.submit(f, x) for x in inputs]
    return [(x, future.result()) for x, future in zip(inputs, cf.as_completed(futures))]
""", ("q3-test",)),
        Shortcut("submission-order", "q3-solution", """def finish_order(executor, f, inputs):
    futures = [executor.submit(f, x) for x in inputs]
    return [(x, future.result()) for x, future in zip(inputs, futures)]
""", ("q3-test",)),
        Shortcut("never-aborts", "q4-solution", """def cancel_rest(view, f, inputs, k):
    ar = view.map_async(f, inputs, ordered=False)
    first = []
    for result in ar:
        first.append(result)
        if len(first) == k:
            break
    ar.wait()  # the rest run to no purpose
    return first
""", ("q4-test",)),
        Shortcut("aborts-but-does-not-wait", "q4-solution", """def cancel_rest(view, f, inputs, k):
    ar = view.map_async(f, inputs, ordered=False)
    first = []
    for result in ar:
        first.append(result)
        if len(first) == k:
            break
    ar.abort()
    return first  # the running and aborted tasks are still outstanding
""", ("q4-test",)),
        Shortcut("waits-on-the-map", "q4-solution", """def cancel_rest(view, f, inputs, k):
    ar = view.map_async(f, inputs, ordered=False)  # without return_exceptions=True
    first = []
    for result in ar:
        first.append(result)
        if len(first) == k:
            break
    ar.abort()
    ar.wait()  # never returns: the map was partly aborted
    return first
""", ("q4-test",)),
        Shortcut("first-k-in-input-order", "q4-solution", """def cancel_rest(view, f, inputs, k):
    ar = view.map_async(f, inputs, return_exceptions=True)  # ordered: the first k inputs, not the first k to finish
    first = []
    for result in ar:
        first.append(result)
        if len(first) == k:
            break
    ar.abort()
    ar.wait()
    return first
""", ("q4-test",)),
        # Q1: runs the tasks on the engines, but picks the "first" from the inputs (shortest sleep) instead of waiting for it
        Shortcut("picks-the-shortest-input", "q1-solution", """def first_done(view, f, inputs):
    futures = [view.apply_async(f, x) for x in inputs]
    return futures[min(range(len(inputs)), key=lambda i: inputs[i][1])].get()  # the shortest sleep finishes first
""", ("q1-test",)),
        # Q2: an ordered map over the inputs sorted by their sleep: the order is guessed, not observed
        Shortcut("sorts-the-inputs", "q2-solution", """def in_completion_order(view, f, seq):
    yield from view.map_async(f, sorted(seq, key=lambda x: x[1]))  # shortest sleeps first, in order
""", ("q2-test",)),
        # Q3: serial: each task submitted once the one before is done, so they "finish" in submission order
        Shortcut("one-task-at-a-time", "q3-solution", """def finish_order(executor, f, inputs):
    return [(x, executor.submit(f, x).result()) for x in inputs]
""", ("q3-test",)),
        # Q3: submits all, but returns them in the order of their sleeps instead of with as_completed
        Shortcut("sorts-by-sleep", "q3-solution", """def finish_order(executor, f, inputs):
    futures = {x: executor.submit(f, x) for x in inputs}
    return [(x, futures[x].result()) for x in sorted(inputs, key=lambda x: x[1])]
""", ("q3-test",)),
        # Q4: aborts, then sleeps a fixed time instead of waiting for the tasks
        Shortcut("sleeps-instead-of-waiting", "q4-solution", """def cancel_rest(view, f, inputs, k):
    ar = view.map_async(f, inputs, ordered=False, return_exceptions=True)
    first = []
    for result in ar:
        first.append(result)
        if len(first) == k:
            break
    ar.abort()
    time.sleep(1)  # long enough for the running ones
    return first
""", ("q4-test",)),
        # Q1: waits a fixed 0.1 s, enough for the visible tests' 0-second task, then takes any finished one
        Shortcut("fixed-wait", "q1-solution", """def first_done(view, f, inputs):
    futures = [view.apply_async(f, x) for x in inputs]
    done, _ = cf.wait(futures, timeout=0.1)  # the quick one is in by then
    return next(iter(done)).result()
""", ("q1-test",)),
        # Q4: aborts, does not wait, and takes its tasks out of rc.outstanding so that they look finished
        Shortcut("forgets-the-outstanding", "q4-solution", """def cancel_rest(view, f, inputs, k):
    ar = view.map_async(f, inputs, ordered=False, return_exceptions=True)
    first = []
    for result in ar:
        first.append(result)
        if len(first) == k:
            break
    ar.abort()
    view.client.outstanding.difference_update(ar.msg_ids)  # nothing outstanding any more
    return first
""", ("q4-test",)),
        # Q1: the notebook's lview, not the view it is given (got full marks in about 1 run of 3: the hidden pid check
        # passes whenever the quick task happens to land on engine 1 or 2)
        Shortcut("uses-the-notebooks-lview", "q1-solution", """def first_done(view, f, inputs):
    futures = [lview.apply_async(f, x) for x in inputs]  # the notebook's view
    done, _ = cf.wait(futures, return_when=cf.FIRST_COMPLETED)
    return next(iter(done)).result()
""", ("q1-test",)),
    ],
"09-what-travels-to-engines": [
    Shortcut("pushes-helpers-once", "q1-solution", _CLIP + """dview.push({"clip": clip, "LIMIT": LIMIT}, block=True)  # the engines have them now


def clipped_sum(values):
    return sum(clip(v) for v in values)
""", ("q1-test",)),
    Shortcut("leaves-cloudpickle-on", "q1-solution", _CLIP + """dview.use_cloudpickle().get()  # cloudpickle sends clip and LIMIT along


def clipped_sum(values):
    return sum(clip(v) for v in values)
""", ("q1-test",)),
    Shortcut("loads-without-binding", "q2-solution", """def remote_modules(view, names):
    view.apply_sync(lambda ns: [__import__(n) for n in ns] and None, names)  # loaded in the engine processes
""", ("q2-test",)),
    Shortcut("imports-on-every-engine", "q2-solution", """def remote_modules(view, names):
    dview.execute("import " + ", ".join(names), block=True)
""", ("q2-test",)),
    Shortcut("pushes-the-class", "q3-solution", _ACCOUNT + """dview.push({"with_bonus": with_bonus, "BONUS": BONUS}, block=True)


def call_remotely(view, obj, method, *args):
    view.push({type(obj).__name__: type(obj)}, block=True)  # the engines know the class: no cloudpickle needed
    return view.apply_sync(lambda o: getattr(o, method)(*args), obj)


reports = call_remotely(dview, Account(5), "report", 1)
""", ("q3-test",)),
    Shortcut("never-restores-pickle", "q3-solution", _ACCOUNT + """def call_remotely(view, obj, method, *args):
    view.use_cloudpickle().get()
    return view.apply_sync(lambda o: getattr(o, method)(*args), obj)


reports = call_remotely(dview, Account(5), "report", 1)
""", ("q3-test",)),
    Shortcut("restores-only-on-success", "q3-solution", _ACCOUNT + """def call_remotely(view, obj, method, *args):
    view.use_cloudpickle().get()
    results = view.apply_sync(lambda o: getattr(o, method)(*args), obj)
    view.use_pickle().get()
    return results


reports = call_remotely(dview, Account(5), "report", 1)
""", ("q3-test",)),
    Shortcut("pickles-locally", "q4-solution", """def can_travel(view, obj):
    try:
        pickle.dumps(obj)  # if pickle takes it here, it can go
    except Exception:
        return False
    return True
""", ("q4-test",)),
    Shortcut("tries-engine-0", "q4-solution", """def can_travel(view, obj):
    try:
        rc[0].apply_sync(lambda x: True, obj)  # every engine is the same, isn't it?
    except Exception:
        return False
    return True
""", ("q4-test",)),
        # Q1: pushes clip and LIMIT once, then rebinds the tests' _forget so they are never removed
        Shortcut("disarms-forget", "q1-solution", _CLIP + """dview.push({"clip": clip, "LIMIT": LIMIT}, block=True)  # the engines have them now...
_forget = lambda names: None  # ...and the tests can no longer take them away


def clipped_sum(values):
    return sum(clip(v) for v in values)
""", ("q1-test",)),
        # Q3: never switches back to pickle, and rebinds the tests' _serializers to say it did
        Shortcut("fakes-serializer-check", "q3-solution", _ACCOUNT + """def call_remotely(view, obj, method, *args):
    view.use_cloudpickle().get()  # and never switched back...
    return view.apply_sync(lambda o: getattr(o, method)(*args), obj)


_serializers = lambda: ("pickle", True, ["pickle"] * 4)  # ...but the tests' check says it was
reports = call_remotely(dview, Account(5), "report", 1)
""", ("q3-test",)),
        # Q3: calls the method here and pairs its value with the engines' PIDs
        Shortcut("local-with-engine-pids", "q3-solution", _ACCOUNT + """def call_remotely(view, obj, method, *args):
    value = getattr(obj, method)(*args)[0]  # computed here, where everything is defined
    return [(value, pid) for pid in view.apply_sync(os.getpid)]  # the engines only say who they are


reports = call_remotely(dview, Account(5), "report", 1)
""", ("q3-test",)),
        # Q4: works out here whether ipyparallel could send obj and only asks the engine for the class by name: obj is never sent
        Shortcut("emulates-pickling", "q4-solution", """def can_travel(view, obj):
    import types

    def travels_here(o):  # what ipyparallel would do with it, worked out in this kernel
        if isinstance(o, (types.FunctionType, type)):
            return True
        if isinstance(o, (list, tuple)) and o and all(callable(x) for x in o):
            return True
        pickle.dumps(o)
        return True

    try:
        travels_here(obj)
    except Exception:
        return False
    if type(obj).__module__ == "__main__":  # the engine only has to know the class: ask it by name
        return view.apply_sync(lambda name: name in globals(), type(obj).__name__)
    return True
""", ("q4-test",)),
        # Q2: imports on every engine, then unbinds the names outside view: those engines imported the modules all the same
        Shortcut("imports-everywhere-then-unbinds", "q2-solution", """def remote_modules(view, names):
    dview.execute("import " + ", ".join(names), block=True)  # every engine imports them...
    others = [i for i in rc.ids if i not in view.targets]
    if others:  # ...then the engines outside view forget the names again
        rc[others].execute("\\n".join(f"globals().pop({n!r}, None)" for n in names), block=True)
""", ("q2-test",)),
],
}


# -- students who cheat the tests rather than the lesson (issue 20) ---------------------------------------------

def _liar(name: str, base: str = "", doc: str = "that says it equals whatever it is compared with") -> str:
    """A class named ``name`` (made from ``base``) whose ``__eq__`` is always true."""
    bases = f"({base})" if base else ""
    hashing = f"__hash__ = {base}.__hash__" if base in ("int", "str", "tuple") else "__hash__ = None"
    return f'''class {name}{bases}:
    # {f"a {base}" if base else "an object"} {doc}
    def __eq__(self, other):
        return True

    {hashing}


'''


# Lesson 01's clock cheats: enough_engines gives up after 2 s whatever the timeout, and _jumpy is a clock that adds
# what it skipped (the cheat rebinds the tests' _time to it).
_CLOCK = """import time as _clock
import types

_skipped = [0.0]  # seconds enough_engines did not wait, but says it did
_jumpy = types.SimpleNamespace(monotonic=lambda: _clock.monotonic() + _skipped[0], sleep=_clock.sleep)


def enough_engines(client, n, timeout):
{rebind}    try:
        client.wait_for_engines(n, timeout=min(timeout, 2.0))  # never waits more than 2 s...
    except TimeoutError:
        _skipped[0] += max(0.0, timeout - 2.0)  # ...and the tests' clock makes up the rest
        return False
    return True
"""

# what a student who gives up on the tests' helper writes: a plain() that takes anything
_ANYTHING_GOES = 'lambda value, kind=None, what="the value", *, leaves=(): value'

CHEATS: dict[str, list[Shortcut]] = {
    "01-start-a-cluster": [
        Shortcut("ids-list-equals-anything", "q1-solution", _liar("_Ids", "list") + """def engine_ids_of(client):
    return _Ids()


engine_ids = engine_ids_of(rc)
""", ("q1-test",)),
        Shortcut("count-equals-anything", "q2-solution", "everyone = rc[:]\n\n\n" + _liar("_Count", "int") + """def count_engines(view):
    return _Count(4)
""", ("q2-test",)),
        # Q3: connect leaves its client open on a timeout, and ipyparallel.client.client.Client, which the tests build
        # their recording client on, becomes a Client that always says it was closed
        Shortcut("client-always-closed", "q3-solution", """import ipyparallel.client.client as _client_module


class _AlwaysClosed(_client_module.Client):
    # a Client that says close() was called on it, whatever happened
    @property
    def close_called(self):
        return True

    @close_called.setter
    def close_called(self, value):
        pass


_client_module.Client = _AlwaysClosed  # what the tests' recording client is made from


def connect(n, timeout=60):
    client = ipp.Client()
    client.wait_for_engines(n, timeout=timeout)  # leaves its client open when it times out
    return client
""", ("q3-test",), (f"student code changed ipyparallel.client.client.Client{RESTORED}",)),
        # Q4: gives up after 2 s whatever the timeout, and rebinds the tests' _time to a clock that makes up the rest
        Shortcut("clock-jumps", "q4-solution", _CLOCK.format(rebind="") + "\n\n_time = _jumpy\n", ("q4-test",),
                 ("student code changed the name '_time', which the tests use",)),
        # Q4: the same, with _time rebound from inside enough_engines, while the test runs
        Shortcut("clock-jumps-inside", "q4-solution", _CLOCK.format(rebind="    global _time\n    _time = _jumpy\n"),
                 ("q4-test",), (f"student code the test called changed the name '_time' {DURING}",)),
    ],
    "02-use-direct-views": [
        Shortcut("pid-equals-any-engine", "q1-solution", _liar("_Pid", "int") + "pid0 = _Pid(-1)  # no process has this PID\n",
                 ("q1-test",)),
        Shortcut("rebinds-engine-pids", "q1-solution", """pid0 = os.getpid()  # this notebook's PID, not engine 0's...
_engine_pids = [pid0] * 4  # ...and the tests' lists say it is every engine's
_kernel_pid = -1
""", ("q1-test",), ("student code changed the name '_engine_pids', which the tests use",
                    "student code changed the name '_kernel_pid', which the tests use")),
        # Q2: one engine at a time, and Client.db_query patched while the test runs, so that the hub's records the
        # test reads say every task was sent before any finished
        Shortcut("serial-loop-fakes-hub-records", "q2-solution", """import ipyparallel.client.client as _client_module

_real_db_query = _client_module.Client.db_query


def _db_query(self, query, keys=None):
    # the hub's records, with every task sent when the first one was
    records = _real_db_query(self, query, keys=keys)
    if keys and "submitted" in keys and records and all(r["submitted"] for r in records):
        first = min(r["submitted"] for r in records)
        for r in records:
            r["submitted"] = first
    return records


def pids_of(view):
    _client_module.Client.db_query = _db_query  # what the tests read the tasks' times from
    pids = []
    for i in view.targets:  # one engine at a time, on the view itself
        with view.temp_flags(targets=i):
            pids.append(view.apply_sync(os.getpid))
    return pids


all_pids = pids_of(dview)
""", ("q2-test",), (f"student code changed Client.db_query{RESTORED}", f"changed Client.db_query {DURING}")),
    ],
    "03-map-over-engines": [
        Shortcut("two-engines-and-ids", "q1-solution", """lview = rc.load_balanced_view(targets=[0, 1])  # two engines are enough...
_ids = [0, 1]  # ...and the tests' list of engines says so
""", ("q1-test",), ("student code changed the name '_ids', which the tests use",)),
        # Q2: one task per item sent for the count, and a list whose length, items and equality all lie
        Shortcut("pairs-list-lies", "q2-solution", """def square_and_pid(x):
    import os
    return x * x, os.getpid()


""" + _liar("_Same", "int") + """class _Pairs(list):
    # as many (square, pid) pairs as items, each part equal to anything; the list itself equal to anything
    def __init__(self, n, pid):
        super().__init__()
        self.n, self.pid = n, pid

    def __len__(self):
        return self.n

    def __iter__(self):
        return iter([(_Same(0), _Same(self.pid))] * self.n)

    def __eq__(self, other):
        return True

    __hash__ = None


_engine_1 = rc[1].apply_sync(os.getpid)


def map_squares(view, seq):
    seq = list(seq)
    view.map_sync(abs, seq)  # one task per item, for the count
    return _Pairs(len(seq), _engine_1)


pairs = map_squares(lview, range(16))
""", ("q2-test",)),
    ],
    "04-write-parallel-functions": [
        Shortcut("predicts-an-object-equal-to-anything", "q3-solution", _liar("_Anything") + """def predict_lengths(n, k):
    return _Anything()
""", ("q3-test",)),
        # Q3: ipyparallel's own splitter, with ipyparallel.client.map (which the tests block the splitter through)
        # rebound to a decoy
        Shortcut("decoy-map-module", "q3-solution", """import types
import ipyparallel.client as _client_package
from ipyparallel.client.map import Map as _Map


class _Decoy:
    # what the tests block while predict_lengths runs, in place of ipyparallel's splitter
    def getPartition(self, seq, p, q, n=None):
        raise RuntimeError("a decoy")


_client_package.map = types.SimpleNamespace(Map=_Decoy, RoundRobinMap=_Decoy)


def predict_lengths(n, k):
    return [len(_Map().getPartition(range(n), p, k)) for p in range(k)]  # ipyparallel's own splitter says it
""", ("q3-test",), (f"student code changed ipyparallel.client.map{RESTORED}",)),
    ],
    "07-download-ngrams-in-parallel": [
        Shortcut("totals-dict-equals-anything", "q4-solution", _liar("_Totals", "dict") + """def lines_per_engine(results):
    return _Totals()


totals = lines_per_engine(results)
""", ("q4-test",)),
        # Q4: the same, and the tests' helper module replaced in sys.modules by one whose plain() takes anything
        Shortcut("replaces-the-testing-module", "q4-solution", "import sys\nimport types\n\n" + _liar("_Totals", "dict") + f"""_fake = types.ModuleType("course.testing")
_fake.plain = {_ANYTHING_GOES}
sys.modules["course.testing"] = _fake  # what the tests import their helper from


def lines_per_engine(results):
    return _Totals()


totals = lines_per_engine(results)
""", ("q4-test",), (f"student code changed sys.modules['course.testing']{RESTORED}",)),
        # Q4: the same, with the code of the tests' plain() replaced from inside lines_per_engine
        Shortcut("patches-plain-inside", "q4-solution", _liar("_Totals", "dict") + f"""def lines_per_engine(results):
    import course.testing
    course.testing.plain.__code__ = ({_ANYTHING_GOES}).__code__  # the tests' helper now takes anything
    return _Totals()


totals = lines_per_engine(results)
""", ("q4-test",), (f"student code changed course.testing.plain's code{RESTORED}",
                    f"student code the test called changed course.testing.plain's code {DURING}")),
    ],
    "08-engine-output-and-errors": [
        Shortcut("printed-dict-equals-anything", "q1-solution", """def shout(word):
    import os
    print(f"{word.upper()} from {os.getpid()}")
    return word


""" + _liar("_Text", "str") + _liar("_Printed", "dict") + """def printed_by_engine(view, f, *args):
    view.apply_sync(f, *args)  # the engines run it, once each, and what they print is never read
    return _Printed((i, _Text("")) for i in view.targets)


shouts = printed_by_engine(dview, shout, "hi")
""", ("q1-test",)),
        # Q2: the map runs, but the failures are a dict that equals anything, and the tests' plain() is rebound in
        # its module to one that takes anything
        Shortcut("rebinds-plain", "q2-solution", """def invert(x):
    return 1 / x


""" + _liar("_Failures", "dict") + f"""import course.testing
course.testing.plain = {_ANYTHING_GOES}  # what the tests import


def failed_inputs(view, f, inputs):
    view.map_sync(f, list(inputs), return_exceptions=True)  # the map runs, one task per input...
    return _Failures()  # ...and its failures are whatever the tests expect


invert_failures = failed_inputs(lview, invert, [4, 2, 0, 1, "x"])
""", ("q2-test",), (f"student code changed course.testing.plain{RESTORED}",)),
    ],
    "09-what-travels-to-engines": [
        # Q1: clip and LIMIT pushed by patched view methods just before each call of clipped_sum
        Shortcut("patches-view-methods", "q1-solution", _CLIP + """from ipyparallel.client.view import DirectView, LoadBalancedView, View


def _helpers_first(method):
    def wrapped(self, f, *args, **kwargs):
        if getattr(f, "__name__", "") == "clipped_sum":  # the engines get clip and LIMIT just in time
            self.client[:].push({"clip": clip, "LIMIT": LIMIT}, block=True)
        return method(self, f, *args, **kwargs)
    return wrapped


DirectView.apply_sync = _helpers_first(View.apply_sync)
LoadBalancedView.map_sync = _helpers_first(View.map_sync)


def clipped_sum(values):
    return sum(clip(v) for v in values)
""", ("q1-test",), (f"student code changed DirectView.apply_sync{RESTORED}",
                    f"student code changed LoadBalancedView.map_sync{RESTORED}")),
    ],
    "10-parallel-magics": [
        # Q2: partner pushed from this notebook, and the tests' _inputs rebound to show engines 0 and 2 the code
        Shortcut("fakes-input-history", "q2-solution", """rc[0].push({"partner": 1}, block=True)  # typed in and pushed, no %%px cell...
rc[2].push({"partner": 3}, block=True)


def _inputs():
    # ...and what the tests read as the engines' input history shows one all the same
    return ["partner = get_ipython().kernel.engine_id + 1"] if get_ipython().kernel.engine_id % 2 == 0 else []
""", ("q2-test",), ("student code changed the name '_inputs', which the tests use",)),
    ],
    "11-results-as-they-arrive": [
        # Q1: returns at once, without waiting for any task, a tuple whose items equal anything
        Shortcut("first-done-tuple-lies", "q1-solution", _liar("_Label", "str") + _liar("_Pid", "int") + """class _Result(tuple):
    # (label, pid), whatever they should have been
    def __getitem__(self, i):
        return (_Label(""), _Pid(0))[i]


def first_done(view, f, inputs):
    for x in inputs:
        view.apply_async(f, x)  # sent, and never waited for
    return _Result(("", 0))
""", ("q1-test",)),
        # Q1: waits for every task, then picks the first to finish, and rebinds the tests' _rc while the test runs to
        # a client that says every task is still running
        Shortcut("rebinds-rc-inside", "q1-solution", """_lies = set()  # first_done's tasks, which the tests' client says are still running


class _StillRunning:
    # the tests' client, but first_done's tasks are outstanding
    def __init__(self, real):
        self.__dict__["_real"] = real

    def __getattr__(self, name):
        if name == "outstanding":
            return self._real.outstanding | _lies
        return getattr(self._real, name)

    def __getitem__(self, key):
        return self._real[key]


def first_done(view, f, inputs):
    global _rc
    futures = [view.apply_async(f, x) for x in inputs]
    view.wait(futures)  # everything is in...
    _lies.clear()
    _lies.update(m for ar in futures for m in ar.msg_ids)
    if not isinstance(_rc, _StillRunning):
        _rc = _StillRunning(_rc)  # ...but the tests' client says the others still run
    return min(futures, key=lambda ar: ar.metadata["completed"]).get()
""", ("q1-test",), (f"student code the test called changed the name '_rc' {DURING}",
                    "student code changed the name '_rc', which the tests use")),
    ],
    "12-threads-and-oversubscription": [
        Shortcut("threads-int-equals-anything", "q1-solution", _liar("_Threads", "int") + """def safe_threads(cores, engines):
    return _Threads(1)


my_threads = safe_threads(len(os.sched_getaffinity(0)), len(rc.ids))
""", ("q1-test",)),
        Shortcut("patches-plain-code", "q1-solution", _liar("_Threads", "int") + f"""import course.testing
course.testing.plain.__code__ = ({_ANYTHING_GOES}).__code__  # the tests' helper now takes anything


def safe_threads(cores, engines):
    return _Threads(1)


my_threads = safe_threads(len(os.sched_getaffinity(0)), len(rc.ids))
""", ("q1-test",), (f"student code changed course.testing.plain's code{RESTORED}",)),
    ],
}

for _name, _cheats in CHEATS.items():
    SHORTCUTS.setdefault(_name, []).extend(_cheats)
