#: question: q1-solution
#: misses: q1-test
def first_done(view, f, inputs):
    futures = [view.apply_async(f, x) for x in inputs]
    done, _ = cf.wait(futures, timeout=0.1)  # the quick one is in by then
    return next(iter(done)).result()
