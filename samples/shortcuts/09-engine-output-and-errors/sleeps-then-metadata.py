#: question: q2-solution
#: misses: q2-test
import time

def invert(x):
    return 1 / x


def failed_inputs(view, f, inputs):
    inputs = list(inputs)
    ar = view.map_async(f, inputs, return_exceptions=True)
    time.sleep(3)  # the tasks are short: they are done by now
    return {x: md["error"].ename for x, md in zip(inputs, ar.metadata) if md.get("status") == "error"}


invert_failures = failed_inputs(lview, invert, [4, 2, 0, 1, "x"])
