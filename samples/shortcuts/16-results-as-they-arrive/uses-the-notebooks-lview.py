#: question: q1-solution
#: misses: q1-test
def first_done(view, f, inputs):
    futures = [lview.apply_async(f, x) for x in inputs]  # the notebook's view
    done, _ = cf.wait(futures, return_when=cf.FIRST_COMPLETED)
    return next(iter(done)).result()
