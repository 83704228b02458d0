#: question: q2-solution
#: misses: q2-test
def invert(x):
    return 1 / x


def failed_inputs(view, f, inputs):
    failures = {}
    for x in inputs:  # one task, then wait, then the next
        try:
            view.apply_sync(f, x)
        except ipp.RemoteError as err:
            failures[x] = err.ename
    return failures


invert_failures = failed_inputs(lview, invert, [4, 2, 0, 1, "x"])
