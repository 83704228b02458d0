#: question: q3-solution
#: misses: q3-test
def finish_order(executor, f, inputs):
    return [(x, executor.submit(f, x).result()) for x in inputs]
