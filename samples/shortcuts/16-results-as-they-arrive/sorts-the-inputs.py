#: question: q2-solution
#: misses: q2-test
def in_completion_order(view, f, seq):
    yield from view.map_async(f, sorted(seq, key=lambda x: x[1]))  # shortest sleeps first, in order
