#: question: q4-solution
#: misses: q4-test
def call(n, f, args):
    from threadpoolctl import threadpool_limits
    with threadpool_limits(n, user_api="blas"):
        return f(*args)

def run_limited(view, n, f, *args):
    engines = view.apply_async(os.getpid).get_dict()  # which engines, in one call on the view
    return {i: rc[i].apply_sync(call, n, f, args) for i in engines}
