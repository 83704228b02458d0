#: question: q4-solution
#: misses: q4-test
def run_limited(view, n, f, *args):
    def call(n, f, args):
        from threadpoolctl import threadpool_limits
        with threadpool_limits(n, user_api="blas"):
            return f(*args)

    return dict(zip(view.targets, view.apply_sync(call, n, f, args)))  # the view's targets are its engine ids
