LIMIT = 3


def clip(x):
    return max(-LIMIT, min(LIMIT, x))


