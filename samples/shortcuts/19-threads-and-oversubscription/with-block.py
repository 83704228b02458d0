#: question: q3-solution
#: misses: q3-test
def limit_blas(view, n):
    def limit(n):
        from threadpoolctl import threadpool_limits
        with threadpool_limits(n, user_api="blas"):
            pass

    view.apply_async(limit, n).get()
