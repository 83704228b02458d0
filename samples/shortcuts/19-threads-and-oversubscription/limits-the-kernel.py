#: question: q3-solution
#: misses: q3-test
def limit_blas(view, n):
    threadpoolctl.threadpool_limits(n, user_api="blas")  # here, not on the engines
    view.apply_async(os.getpid).get()
