#: question: q2-solution
#: misses: q2-test
def square_and_pid(x):
    import os
    return x * x, os.getpid()

def _pid(x):
    import os
    return os.getpid()

def map_squares(view, seq):
    seq = list(seq)
    pids = view.map_sync(_pid, seq)  # one task per item on the view, for the PIDs
    return [(x * x, p) for x, p in zip(seq, pids)]

pairs = map_squares(lview, range(16))
