#: question: q1-solution
#: misses: q1-test
LIMIT = 3


def clip(x):
    return max(-LIMIT, min(LIMIT, x))


dview.push({"clip": clip, "LIMIT": LIMIT}, block=True)  # the engines have them now


def clipped_sum(values):
    return sum(clip(v) for v in values)
