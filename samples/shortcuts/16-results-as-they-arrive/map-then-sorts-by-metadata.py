#: question: q2-solution
#: misses: q2-test
def in_completion_order(view, f, seq):
    ar = view.map_async(f, seq, ordered=False)
    ar.wait()  # all of them, then in the order the engines say they completed
    for _, result in sorted(zip([meta["completed"] for meta in ar.metadata], ar.get()), key=lambda pair: pair[0]):
        yield result
