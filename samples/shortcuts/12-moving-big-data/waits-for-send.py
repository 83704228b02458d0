#: question: q3-solution
#: misses: q3-test
def sums_of_fills(view, f, buffer, values):
    pending = []
    for v in values:
        buffer[:] = v
        with view.temp_flags(track=True):
            ar = view.apply_async(f, buffer)
        ar.wait_for_send()  # the documented guard, which ipyparallel 9 does not keep
        pending.append(ar)
    return [ar.get() for ar in pending]
