#: question: q1-solution
#: misses: q1-test
def first_done(view, f, inputs):
    futures = [view.apply_async(f, x) for x in inputs]
    return futures[min(range(len(inputs)), key=lambda i: inputs[i][1])].get()  # the shortest sleep finishes first
