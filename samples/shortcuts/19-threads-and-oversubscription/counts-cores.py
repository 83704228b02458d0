#: question: q2-solution
#: misses: q2-test
def blas_threads(view):
    def count():
        import os
        return len(os.sched_getaffinity(0))  # OpenBLAS starts one thread per core: same number, no threadpoolctl

    return view.apply_async(count).get_dict()
