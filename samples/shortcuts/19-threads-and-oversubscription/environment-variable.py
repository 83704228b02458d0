#: question: q3-solution
#: misses: q3-test
def limit_blas(view, n):
    def limit(n):
        import os
        for name in ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS", "VECLIB_MAXIMUM_THREADS"):
            os.environ[name] = str(n)

    view.apply_async(limit, n).get()
