#: question: q3-solution
#: misses: q3-test
def limit_blas(view, n):
    def limit(n):
        from threadpoolctl import threadpool_limits
        threadpool_limits(n, user_api="blas")

    view.apply(limit, n)  # rc[...] views do not block
