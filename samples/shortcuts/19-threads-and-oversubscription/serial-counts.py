#: question: q2-solution
#: misses: q2-test
def count():
    import numpy
    from threadpoolctl import threadpool_info
    return sum(lib["num_threads"] for lib in threadpool_info() if lib["user_api"] == "blas")

def blas_threads(view):
    return {i: rc[i].apply_sync(count) for i in rc.ids if i in view.targets}
