#: question: q2-solution
#: misses: q2-test
def gpu_engines(view):
    def count():
        from course import fakecuda
        return fakecuda.device_count()

    return sorted(engine for engine, n in view.apply_async(count).get_dict().items() if n > 0)


def run_on_gpus(client, engines, f, inputs):
    return client[engines].map_sync(f, inputs)  # fixed shares, one task per engine
