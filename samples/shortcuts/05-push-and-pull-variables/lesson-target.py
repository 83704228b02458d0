#: question: q2-solution
#: misses: q2-test
def push_and_pull(view, x, y, target):
    view.push({"x": x, "y": y}, block=True)
    return list(view.pull(("x", "y"), targets=2, block=True))  # engine 2, as in the example

xy_from_2 = push_and_pull(dview, 7, 6, 2)
