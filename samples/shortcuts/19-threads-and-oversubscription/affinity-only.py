#: question: q1-solution
#: misses: q1-test
def safe_threads(cores, engines):
    return max(1, cores // engines)

def cpus_here():
    import os
    return len(os.sched_getaffinity(0))  # the CPUs the engine may run on (a container's quota? never heard of it)

def engine_threads(view):
    cpus = view.apply_async(cpus_here).get_dict()
    return {engine: safe_threads(n, len(view)) for engine, n in cpus.items()}
