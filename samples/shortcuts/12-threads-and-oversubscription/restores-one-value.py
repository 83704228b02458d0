#: question: q4-solution
#: misses: q4-test
def run_limited(view, n, f, *args):
    def limit(n):
        from threadpoolctl import threadpool_limits
        threadpool_limits(n, user_api="blas")

    view.apply_sync(limit, n)
    results = view.apply_sync(f, *args)
    view.apply_sync(limit, len(os.sched_getaffinity(0)))  # back to one per core
    return results
