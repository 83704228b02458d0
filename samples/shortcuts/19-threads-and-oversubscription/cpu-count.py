#: question: q1-solution
#: misses: q1-test
def safe_threads(cores, engines):
    return max(1, cores // engines)

def engine_threads(view):
    cpus = view.apply_async(os.cpu_count).get_dict()  # the engine's cores, as os sees them
    return {engine: safe_threads(n, len(view)) for engine, n in cpus.items()}
