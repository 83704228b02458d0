#: question: q2-solution
#: misses: q2-test
def push_and_pull(view, x, y, target):
    view.push({"x": x, "y": y}, block=True)
    everything = view.pull(("x", "y"), block=True)  # from every engine, then pick the target's
    return list(everything[view.targets.index(target)])

xy_from_2 = push_and_pull(dview, 7, 6, 2)
