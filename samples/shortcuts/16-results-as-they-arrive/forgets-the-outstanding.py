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
    view.client.outstanding.difference_update(ar.msg_ids)  # nothing outstanding any more
    return first
