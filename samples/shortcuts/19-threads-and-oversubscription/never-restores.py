#: question: q4-solution
#: misses: q4-test
def run_limited(view, n, f, *args):
    def limit(n):
        from threadpoolctl import threadpool_limits
        threadpool_limits(n, user_api="blas")

    view.apply_async(limit, n).get()
    return view.apply_async(f, *args).get_dict()
