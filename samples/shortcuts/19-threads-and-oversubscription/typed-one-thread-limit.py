#: question: q3-solution
#: misses: q3-test
def limit_blas(view, n):
    def limit():
        from threadpoolctl import threadpool_limits
        threadpool_limits(1, user_api="blas")  # one thread per engine is always right

    view.apply_async(limit).get()
