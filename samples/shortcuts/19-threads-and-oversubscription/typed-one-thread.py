#: question: q1-solution
#: misses: q1-test
def safe_threads(cores, engines):
    return max(1, cores // engines)

def engine_threads(view):
    cpus = view.apply_async(usable_cpus).get_dict()
    return dict.fromkeys(cpus, 1)  # 4 engines on a laptop: always 1
