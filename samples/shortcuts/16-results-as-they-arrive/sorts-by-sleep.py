#: question: q3-solution
#: misses: q3-test
def finish_order(executor, f, inputs):
    futures = {x: executor.submit(f, x) for x in inputs}
    return [(x, futures[x].result()) for x in sorted(inputs, key=lambda x: x[1])]
