#: question: q3-solution
#: misses: q3-test
def limit_threads(view, cores):
    def count():
        from course import fakecuda
        return fakecuda.device_count()

    def limit(threads):
        import numpy
        from threadpoolctl import threadpool_limits
        with threadpool_limits(threads[get_ipython().kernel.engine_id], user_api="blas"):
            pass  # the old size is back when the block ends

    devices = view.apply_async(count).get_dict()
    gpus = [engine for engine, n in devices.items() if n > 0]
    per_gpu = max(1, (cores - (len(devices) - len(gpus))) // len(gpus)) if gpus else 1
    threads = {engine: per_gpu if engine in gpus else 1 for engine in devices}
    view.apply_async(limit, threads).get()
    return threads
