#: question: q2-solution
#: misses: q2-test
def follow(ar, report):
    last = {}
    while True:
        finished = ar.ready()
        if ar.data and ar.data != last:
            report(ar.data)  # the dict ipyparallel goes on updating, not a copy
            last = dict(ar.data)
        if finished:
            return ar.get()
        time.sleep(0.01)
