#: question: q1-solution
#: misses: q1-test
def safe_threads(cores, engines):
    return max(1, round(cores / engines))  # nearest, not at most

my_threads = safe_threads(len(os.sched_getaffinity(0)), len(rc.ids))
