#: question: q3-solution
#: misses: q3-test
def limit_blas(view, n):
    view.execute(f"from threadpoolctl import threadpool_limits; threadpool_limits({n}, user_api='blas')")
