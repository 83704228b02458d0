#: question: q2-solution
#: misses: q2-test
def square_and_pid(x):
    import os
    return x * x, os.getpid()

def map_squares(view, seq):
    pids = rc[:].apply_sync(os.getpid)
    return [(x * x, pids[i % len(pids)]) for i, x in enumerate(seq)]

pairs = map_squares(lview, range(16))
