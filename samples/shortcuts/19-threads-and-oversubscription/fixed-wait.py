#: question: q3-solution
#: misses: q3-test
def limit_blas(view, n):
    def limit(n):
        from threadpoolctl import threadpool_limits
        threadpool_limits(n, user_api="blas")

    view.apply_async(limit, n)
    time.sleep(3)  # plenty of time for the engines to get to it
