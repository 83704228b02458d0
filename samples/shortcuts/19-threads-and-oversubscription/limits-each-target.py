#: question: q3-solution
#: misses: q3-test
def limit_blas(view, n):
    def limit(n):
        from threadpoolctl import threadpool_limits
        threadpool_limits(n, user_api="blas")

    rc[view.targets].apply_sync(limit, n)  # the same engines, one view of the client's
