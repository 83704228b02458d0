#: question: q1-solution
#: misses: q1-test
def safe_threads(cores, engines):
    return max(1, round(cores / engines))  # nearest, not at most

def engine_threads(view):
    cpus = view.apply_async(usable_cpus).get_dict()
    return {engine: safe_threads(n, len(view)) for engine, n in cpus.items()}
