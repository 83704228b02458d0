#: question: q3-solution
#: misses: q3-test
def collect_until(view, f, inputs, target):
    ar = view.map_async(f, inputs, return_exceptions=True)
    while sum(d.get("found", 0) for d in ar.data) < target:
        time.sleep(0.01)
    ar.abort()
    return sum(d.get("found", 0) for d in ar.data)  # the running tasks are not done yet
