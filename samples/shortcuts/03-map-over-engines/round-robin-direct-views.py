#: question: q2-solution
#: misses: q2-test
def square_and_pid(x):
    import os
    return x * x, os.getpid()

def map_squares(view, seq):
    engines = view.targets or view.client.ids  # deal the items out, one engine after the other
    ars = [view.client[engines[i % len(engines)]].apply_async(square_and_pid, x) for i, x in enumerate(seq)]
    return [ar.get() for ar in ars]

pairs = map_squares(lview, range(16))
