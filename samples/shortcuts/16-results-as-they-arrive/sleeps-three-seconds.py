#: question: q1-solution
#: misses: q1-test
def first_done(view, f, inputs):
    futures = [view.apply_async(f, x) for x in inputs]
    time.sleep(3)  # longer than any task takes: the quickest is done by then
    return next(future for future in futures if future.done()).result()
