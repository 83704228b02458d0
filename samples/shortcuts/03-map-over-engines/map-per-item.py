#: question: q2-solution
#: misses: q2-test
def square_and_pid(x):
    import os
    return x * x, os.getpid()

def map_squares(view, seq):
    return [view.map_sync(square_and_pid, [x])[0] for x in seq]

pairs = map_squares(lview, range(16))
