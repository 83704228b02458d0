#: question: q1-solution
#: misses: q1-test
#: prelude: 11-clip
ipp.serialize.use_cloudpickle()  # this kernel sends clipped_sum with clip and LIMIT inside (the engines unpickle it)


def clipped_sum(values):
    return sum(clip(v) for v in values)
