#: question: q3-solution
#: misses: q3-test
def limit_threads(view, cores):
    def limit(n):
        import numpy
        from threadpoolctl import threadpool_limits
        threadpool_limits(n, user_api="blas")

    engines = view.apply_async(lambda: get_ipython().kernel.engine_id).get_dict()
    n = max(1, cores // len(engines))  # lesson 19's share, GPU engines or not
    view.apply_async(limit, n).get()
    return dict.fromkeys(engines, n)
