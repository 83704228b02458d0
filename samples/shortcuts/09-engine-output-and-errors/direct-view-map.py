#: question: q2-solution
#: misses: q2-test
def invert(x):
    return 1 / x


def failed_inputs(view, f, inputs):
    inputs = list(inputs)
    results = dview.map_sync(f, inputs, return_exceptions=True)  # one share per engine, one error per share
    return {x: r.ename for x, r in zip(inputs, results) if isinstance(r, ipp.RemoteError)}


invert_failures = failed_inputs(lview, invert, [4, 2, 0, 1, "x"])
