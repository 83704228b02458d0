#: question: q1-solution
#: misses: q1-test
def give_devices(view, n_devices):
    def choose(n_devices):
        import os
        from course import fakecuda  # to check the node's GPUs first: it reads the variable now, still unset
        for name in ("SLURM_LOCALID", "OMPI_COMM_WORLD_LOCAL_RANK"):
            if name in os.environ:
                rank = int(os.environ[name])
                break
        else:
            rank = get_ipython().kernel.engine_id
        usable = min(n_devices, fakecuda.device_count())
        os.environ["CUDA_VISIBLE_DEVICES"] = str(rank) if rank < usable else ""
        return os.environ["CUDA_VISIBLE_DEVICES"]

    return view.apply_async(choose, n_devices).get_dict()
