#: question: q4-solution
#: misses: q4-test
def parallel_square(view, x):
    for i, part in zip(view.targets, np.array_split(x, len(view.targets))):
        rc[i]["x_in"] = part  # scatter by hand
    view.execute("x_out = x_in ** 2", block=True)
    return view.gather("x_out", block=True)
