#: question: q1-solution
#: misses: q1-test
def give_devices(view, n_devices):
    def choose(n_devices):
        import os
        rank = get_ipython().kernel.engine_id  # the engine id, even where the scheduler gave a local rank
        os.environ["CUDA_VISIBLE_DEVICES"] = str(rank) if rank < n_devices else ""
        return os.environ["CUDA_VISIBLE_DEVICES"]

    return view.apply_async(choose, n_devices).get_dict()
