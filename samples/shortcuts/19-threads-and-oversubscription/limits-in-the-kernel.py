#: question: q4-solution
#: misses: q4-test
def run_limited(view, n, f, *args):
    with threadpoolctl.threadpool_limits(n, user_api="blas"):  # in this kernel: the engines keep theirs
        return view.apply_async(f, *args).get_dict()
