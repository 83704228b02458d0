"""Students who take shortcuts: for each exercise, answers that miss the point of the lesson.

Each :class:`Shortcut` is one student's submission for one exercise: every solution
filled in from the source, except the solution cell ``question``, whose code is
``source`` (a wrong answer of a kind the lesson is about: serial code passed off as
parallel, a value typed in, the test's own inputs rebound, work skipped).  The tests
named in ``misses`` must fail on it and every other test must pass, so the student
misses full marks on that question only.  :func:`grader.sample_class.make_class`
adds them to the sample class (``shortcuts=True``, as the demo does) and the demo's
score check covers them.
"""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class Shortcut:
    name: str  # the student's folder is shortcut-<NN>-<name>
    question: str  # grade_id of the solution cell replaced
    source: str  # what the student wrote there instead
    misses: tuple[str, ...]  # grade_ids of the tests that must fail on it (the others pass)


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
        Shortcut("sleeps-the-timeout", "q4-solution",
                 "def enough_engines(client, n, timeout):\n    time.sleep(timeout)\n"
                 "    return len(client.ids) >= n",
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
        Shortcut("lazy-map", "q4-solution", "builtin_pairs = map(square_and_pid, range(16))", ("q4-test",)),
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
    ],
}
