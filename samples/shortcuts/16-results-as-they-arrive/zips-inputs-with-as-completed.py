#: question: q3-solution
#: misses: q3-test
def finish_order(executor, f, inputs):
    futures = [executor.submit(f, x) for x in inputs]
    return [(x, future.result()) for x, future in zip(inputs, cf.as_completed(futures))]
