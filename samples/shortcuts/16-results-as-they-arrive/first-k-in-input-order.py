#: question: q4-solution
#: misses: q4-test
def cancel_rest(view, f, inputs, k):
    ar = view.map_async(f, inputs, return_exceptions=True)  # ordered: the first k inputs, not the first k to finish
    first = []
    for result in ar:
        first.append(result)
        if len(first) == k:
            break
    ar.abort()
    ar.wait()
    return first
