#: question: q2-solution
#: misses: q2-test
def blas_threads(view):
    def count():
        import numpy
        from threadpoolctl import threadpool_info
        return sum(lib["num_threads"] for lib in threadpool_info() if lib["user_api"] == "blas")

    engines = view.apply_async(os.getpid).get_dict()  # one call on the view, for its engine ids
    ars = {i: rc[i].apply_async(count) for i in engines}
    return {i: ar.get() for i, ar in ars.items()}
