#: question: q3-solution
#: misses: q3-test
def sums_of_fills(view, f, buffer, values):
    pending = []
    for v in values:
        buffer[:] = v
        pending.append(view.apply_async(f, buffer.copy()))  # a new copy per call: safe, but not the buffer
    return [ar.get() for ar in pending]
