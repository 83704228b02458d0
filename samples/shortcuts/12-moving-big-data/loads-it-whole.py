#: question: q2-solution
#: misses: q2-test
def open_on_engines(view, f, array, directory):
    path = os.path.join(directory, "shared.npy")
    np.save(path, array)

    def opened(path):
        import numpy as np
        return f(np.load(path))  # read whole into each engine's memory: four copies, no mapping

    return view.apply_sync(opened, path)
