#: question: q4-solution
#: misses: q4-test
def cancel_rest(view, f, inputs, k):
    futures = [view.apply_async(f, x) for x in inputs]  # one task per input, each its own
    first = []
    for future in cf.as_completed(futures):
        first.append(future.result())
        if len(first) == k:
            break
    for future in futures:
        try:
            future.abort()
        except RuntimeError:  # already done
            pass
    view.wait(futures)
    return first
