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
    time.sleep(3)  # the tasks take less than that
    return first
