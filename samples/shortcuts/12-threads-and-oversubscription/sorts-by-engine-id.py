#: question: q2-solution
#: misses: q2-test
def blas_threads(view):
    def count():
        import numpy
        from threadpoolctl import threadpool_info
        return get_ipython().kernel.engine_id, sum(lib["num_threads"] for lib in threadpool_info() if lib["user_api"] == "blas")

    return [n for _, n in sorted(view.apply_sync(count))]  # engine 0 first
