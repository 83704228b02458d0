#: question: q1-solution
#: misses: q1-test
#: prelude: 11-clip
dview.use_cloudpickle().get()  # cloudpickle sends clip and LIMIT along


def clipped_sum(values):
    return sum(clip(v) for v in values)
