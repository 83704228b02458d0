#: question: q3-solution
#: misses: q3-test
def limit_threads(view, cores):
    def has_gpu():
        import os
        return os.environ.get("CUDA_VISIBLE_DEVICES") != ""  # the variable now, not what the library saw

    def limit(threads):
        import numpy
        from threadpoolctl import threadpool_limits
        threadpool_limits(threads[get_ipython().kernel.engine_id], user_api="blas")

    devices = view.apply_async(has_gpu).get_dict()
    gpus = [engine for engine, yes in devices.items() if yes]
    per_gpu = max(1, (cores - (len(devices) - len(gpus))) // len(gpus)) if gpus else 1
    threads = {engine: per_gpu if engine in gpus else 1 for engine in devices}
    view.apply_async(limit, threads).get()
    return threads
