#: question: q3-solution
#: misses: q3-test
def collect_until(view, f, inputs, target):
    ar = view.map_async(f, inputs, return_exceptions=True)
    ar.abort()  # the tasks that start at once will surely find enough
    ar.wait()
    return sum(d.get("found", 0) for d in ar.data)
