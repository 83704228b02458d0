#: question: q1-solution
#: misses: q1-test
def first_done(view, f, inputs):
    mine = view.client.load_balanced_view(targets=view.targets)  # the same engines, through a view of my own
    futures = [mine.apply_async(f, x) for x in inputs]
    done, _ = cf.wait(futures, return_when=cf.FIRST_COMPLETED)
    return next(iter(done)).result()
