#: question: q2-solution
#: misses: q2-test
def blas_threads(view):
    # this kernel's pool, reported once per engine
    n = sum(lib["num_threads"] for lib in threadpoolctl.threadpool_info() if lib["user_api"] == "blas")
    return dict.fromkeys(view.apply_async(os.getpid).get_dict(), n)
