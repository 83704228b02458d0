#: question: q2-solution
#: misses: q2-test
def blas_threads(view):
    def count():
        import numpy
        from threadpoolctl import threadpool_info
        return sum(lib["num_threads"] for lib in threadpool_info() if lib["user_api"] == "blas")

    return dict(zip(view.targets, view.apply_sync(count)))  # the view's targets are its engine ids
