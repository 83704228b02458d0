#: question: q2-solution
#: misses: q2-test
def gpu_engines(view):
    def has_gpu():
        import os
        return os.environ.get("CUDA_VISIBLE_DEVICES") != ""  # the variable now, not what the library saw

    return sorted(engine for engine, yes in view.apply_async(has_gpu).get_dict().items() if yes)


def run_on_gpus(client, engines, f, inputs):
    return client.load_balanced_view(targets=engines).map_sync(f, inputs)
