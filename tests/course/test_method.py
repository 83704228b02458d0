"""course.method: what the exercises' tests use to check the method (exercises 09 and 11)."""

import multiprocessing
import time

from course.method import leave, meet, watch


class FakeView:
    """A view whose calls call one another, as ipyparallel's do (map_sync -> map -> apply)."""

    targets = [0, 1]

    def apply(self, f, *args):
        return [f(*args) for _ in self.targets]

    def apply_async(self, f, *args):
        return self.apply(f, *args)

    def map(self, f, seq):
        return [self.apply(f, x)[0] for x in seq]

    def map_sync(self, f, seq):
        return self.map(f, seq)

    def execute(self, code):
        return None


def test_watch_records_the_outermost_calls_in_order_on_this_view_only():
    view, other = FakeView(), FakeView()
    calls = watch(view)
    assert view.map_sync(abs, [-1, -2]) == [1, 2]
    view.apply_async(abs, -3)
    view.execute("x = 1")
    other.apply(abs, 1)  # another view object: not watched
    assert calls == ["map_sync", "apply_async", "execute"]
    assert "apply" in vars(view) and "apply" not in vars(other)  # set on the watched object, not on its class


def _task(directory, tag, nap, out):
    met = meet(directory, tag, limit=10)
    time.sleep(nap)
    leave(directory, tag)
    out.put((tag, met))


def test_tasks_that_run_together_meet_and_one_alone_gives_up_once(tmp_path):
    out = multiprocessing.Queue()
    together = tmp_path / "together"
    together.mkdir()
    procs = [multiprocessing.Process(target=_task, args=(str(together), str(i), 0.2, out)) for i in range(2)]
    for p in procs:
        p.start()
    for p in procs:
        p.join(30)
    assert any(met for _, met in (out.get(timeout=5) for _ in procs))

    alone = tmp_path / "alone"
    alone.mkdir()
    start = time.monotonic()
    assert meet(str(alone), "a", limit=0.5) is False  # nobody else runs: gives up after the limit
    leave(str(alone), "a")
    assert meet(str(alone), "b", limit=30) is False  # ... and no later task waits again
    assert time.monotonic() - start < 10
