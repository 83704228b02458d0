#: question: q2-solution
#: misses: q2-test
def in_completion_order(view, f, seq):
    futures = [view.apply_async(f, x) for x in seq]  # one task per item, the same as map_async
    for future in cf.as_completed(futures):
        yield future.result()
