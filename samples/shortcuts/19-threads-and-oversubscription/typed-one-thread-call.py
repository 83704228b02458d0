#: question: q4-solution
#: misses: q4-test
def run_limited(view, n, f, *args):
    def call(f, args):
        from threadpoolctl import threadpool_limits
        with threadpool_limits(1, user_api="blas"):  # one thread per engine is always right
            return f(*args)

    return view.apply_async(call, f, args).get_dict()
