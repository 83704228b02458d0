#: question: q2-solution
#: misses: q2-test
def invert(x):
    return 1 / x


def failed_inputs(view, f, inputs):
    inputs = list(inputs)
    view.map_sync(f, inputs, return_exceptions=True)  # the map runs...
    failures = {}
    for x in inputs:  # ...but which inputs fail is found by calling f here
        try:
            f(x)
        except Exception as err:
            failures[x] = type(err).__name__
    return failures


invert_failures = failed_inputs(lview, invert, [4, 2, 0, 1, "x"])
