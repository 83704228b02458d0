#: question: q4-solution
#: misses: q4-test
def cancel_rest(view, f, inputs, k):
    ar = view.map_async(f, inputs, ordered=False)
    first = []
    for result in ar:
        first.append(result)
        if len(first) == k:
            break
    ar.wait()  # the rest run to no purpose
    return first
