#: question: q4-solution
#: misses: q4-test
def cancel_rest(view, f, inputs, k):
    ar = view.map_async(f, inputs, ordered=False)  # without return_exceptions=True
    first = []
    for result in ar:
        first.append(result)
        if len(first) == k:
            break
    ar.abort()
    ar.wait()  # never returns: the map was partly aborted
    return first
