#: question: q2-solution
#: misses: q2-test
def invert(x):
    return 1 / x


def failed_inputs(view, f, inputs):
    tasks = {x: view.apply_async(f, x) for x in inputs}  # one task per input, all at once, but no map
    failures = {}
    for x, ar in tasks.items():
        try:
            ar.get()
        except ipp.RemoteError as err:
            failures[x] = err.ename
    return failures


invert_failures = failed_inputs(lview, invert, [4, 2, 0, 1, "x"])
