#: question: q2-solution
#: misses: q2-test
def in_completion_order(view, f, seq):
    yield from view.map_async(f, seq)  # ordered=True, the default
