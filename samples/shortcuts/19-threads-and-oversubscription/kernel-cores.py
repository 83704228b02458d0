#: question: q1-solution
#: misses: q1-test
def safe_threads(cores, engines):
    return max(1, cores // engines)

def engine_threads(view):
    cores = usable_cpus()  # this kernel's CPUs: the engines run on the same machine
    return {engine: safe_threads(cores, len(view)) for engine in view.apply_async(os.getpid).get_dict()}
