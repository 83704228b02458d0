#: question: q1-solution
#: misses: q1-test
def safe_threads(cores, engines):
    return max(1, cores // engines)

def engine_threads(view):
    cpus = view.apply_sync(usable_cpus)
    return {engine: safe_threads(n, len(cpus)) for engine, n in zip(view.targets, cpus)}
