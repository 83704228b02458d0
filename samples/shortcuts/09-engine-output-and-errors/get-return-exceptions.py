#: question: q2-solution
#: misses: q2-test
def invert(x):
    return 1 / x


def failed_inputs(view, f, inputs):
    inputs = list(inputs)
    ar = view.map_async(f, inputs)
    results = ar.get(return_exceptions=True)  # on a map made without return_exceptions: TypeError (issue 937)
    return {x: r.ename for x, r in zip(inputs, results) if isinstance(r, ipp.RemoteError)}


invert_failures = {0: "ZeroDivisionError", "x": "TypeError"}
