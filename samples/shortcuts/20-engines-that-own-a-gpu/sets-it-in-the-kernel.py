#: question: q1-solution
#: misses: q1-test
def give_devices(view, n_devices):
    ids = view.apply_async(lambda: get_ipython().kernel.engine_id).get_dict()
    chosen = {}
    for engine in ids:
        chosen[engine] = str(engine) if engine < n_devices else ""
        os.environ["CUDA_VISIBLE_DEVICES"] = chosen[engine]  # in this kernel, not on the engine
    return chosen
