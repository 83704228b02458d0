#: question: q2-solution
#: misses: q2-test
def invert(x):
    return 1 / x


def failed_inputs(view, f, inputs):
    inputs = list(inputs)
    results = view.map_sync(f, inputs, return_exceptions=True)
    return {x: type(r).__name__ for x, r in zip(inputs, results) if isinstance(r, Exception)}  # 'RemoteError'


invert_failures = {0: "ZeroDivisionError", "x": "TypeError"}  # read off the question
