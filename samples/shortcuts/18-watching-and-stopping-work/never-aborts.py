#: question: q3-solution
#: misses: q3-test
def collect_until(view, f, inputs, target):
    ar = view.map_async(f, inputs, return_exceptions=True)
    ar.wait()  # every task runs, however many were found already
    return sum(d.get("found", 0) for d in ar.data)
