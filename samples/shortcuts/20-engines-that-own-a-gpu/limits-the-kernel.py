#: question: q3-solution
#: misses: q3-test
def limit_threads(view, cores):
    import threadpoolctl

    def count():
        from course import fakecuda
        return fakecuda.device_count()

    devices = view.apply_async(count).get_dict()
    gpus = [engine for engine, n in devices.items() if n > 0]
    per_gpu = max(1, (cores - (len(devices) - len(gpus))) // len(gpus)) if gpus else 1
    threads = {engine: per_gpu if engine in gpus else 1 for engine in devices}
    threadpoolctl.threadpool_limits(max(threads.values()), user_api="blas")  # this kernel's BLAS, not the engines'
    return threads
