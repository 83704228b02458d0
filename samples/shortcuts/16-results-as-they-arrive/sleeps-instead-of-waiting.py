#: question: q4-solution
#: misses: q4-test
def cancel_rest(view, f, inputs, k):
    ar = view.map_async(f, inputs, ordered=False, return_exceptions=True)
    first = []
    for result in ar:
        first.append(result)
        if len(first) == k:
            break
    ar.abort()
    time.sleep(1)  # long enough for the running ones
    return first
