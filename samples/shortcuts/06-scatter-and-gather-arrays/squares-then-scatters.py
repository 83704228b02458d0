#: question: q4-solution
#: misses: q4-test
def parallel_square(view, x):
    view.scatter("x_in", x, block=True)
    view.scatter("x_out", x ** 2, block=True)  # squared here, then handed out
    return view.gather("x_out", block=True)
