#: question: q1-solution
#: misses: q1-test
def first_done(view, f, inputs):
    futures = [view.apply_async(f, x) for x in inputs]
    view.wait(futures)  # everything is in: pick the one that completed first
    return min(futures, key=lambda ar: ar.metadata["completed"]).get()
