#: question: q2-solution
#: misses: q2-test
def invert(x):
    return 1 / x


def failed_inputs(view, f, inputs):
    def attempt(x):  # the errors are caught on the engines: every task "succeeds"
        try:
            f(x)
        except Exception as err:
            return type(err).__name__
        return None

    inputs = list(inputs)
    names = view.map_sync(attempt, inputs)
    return {x: name for x, name in zip(inputs, names) if name is not None}


invert_failures = failed_inputs(lview, invert, [4, 2, 0, 1, "x"])
