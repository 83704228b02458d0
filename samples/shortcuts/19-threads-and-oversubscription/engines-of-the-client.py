#: question: q1-solution
#: misses: q1-test
def safe_threads(cores, engines):
    return max(1, cores // engines)

def engine_threads(view):
    cpus = view.apply_async(usable_cpus).get_dict()
    return {engine: safe_threads(n, len(rc.ids)) for engine, n in cpus.items()}  # the cluster's engines, not the view's
