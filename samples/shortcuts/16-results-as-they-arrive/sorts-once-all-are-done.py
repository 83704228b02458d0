#: question: q2-solution
#: misses: q2-test
def in_completion_order(view, f, seq):
    ar = view.map_async(f, seq)
    results = ar.get()
    stamps = [meta["completed"] for meta in ar.metadata]
    return [r for _, r in sorted(zip(stamps, results), key=lambda pair: pair[0])]
