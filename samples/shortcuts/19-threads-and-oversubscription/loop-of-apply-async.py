#: question: q4-solution
#: misses: q4-test
def run_limited(view, n, f, *args):
    def call(n, f, args):
        from threadpoolctl import threadpool_limits
        with threadpool_limits(n, user_api="blas"):
            return f(*args)

    engines = view.apply_async(os.getpid).get_dict()  # one call on the view, for its engine ids
    ars = {i: rc[i].apply_async(call, n, f, args) for i in engines}  # all at once all the same
    return {i: ar.get() for i, ar in ars.items()}
