#: question: q1-solution
#: misses: q1-test
def give_devices(view, n_devices):
    engines = sorted(view.apply_async(lambda: get_ipython().kernel.engine_id).get_dict())

    def choose(value):
        import os
        os.environ["CUDA_VISIBLE_DEVICES"] = value
        return value

    # the rank is the engine's place in the view, computed here; and one call per engine
    return {e: rc[e].apply_sync(choose, str(k) if k < n_devices else "") for k, e in enumerate(engines)}
