#: question: q3-solution
#: misses: q3-test
def finish_order(executor, f, inputs):
    futures = {executor.view.apply_async(f, x): x for x in inputs}  # what submit does anyway
    return [(futures[future], future.result()) for future in cf.as_completed(futures)]
