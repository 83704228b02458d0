#: question: q3-solution
#: misses: q3-test
import time


def sums_of_fills(view, f, buffer, values):
    pending = []
    for v in values:
        buffer[:] = v
        pending.append(view.apply_async(f, buffer))
        time.sleep(0.5)  # surely sent by now
    return [ar.get() for ar in pending]
