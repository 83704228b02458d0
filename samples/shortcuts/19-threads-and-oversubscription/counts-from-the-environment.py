#: question: q2-solution
#: misses: q2-test
def blas_threads(view):
    def count():
        import os
        return int(os.environ.get("OPENBLAS_NUM_THREADS") or os.environ.get("OMP_NUM_THREADS") or os.cpu_count())

    return view.apply_async(count).get_dict()
