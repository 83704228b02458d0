#: question: q1-solution
#: misses: q1-test
LIMIT = 3


def clip(x):
    return max(-LIMIT, min(LIMIT, x))


dview.use_cloudpickle().get()  # cloudpickle sends clip and LIMIT along


def clipped_sum(values):
    return sum(clip(v) for v in values)
