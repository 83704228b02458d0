#: question: q2-solution
#: misses: q2-test
def open_on_engines(view, f, array, directory):
    path = os.path.join(directory, "shared.npy")
    np.save(path, array)
    mapped = np.load(path, mmap_mode="r")  # mapped here, then sent: the engines get a copy of it
    return view.apply_sync(f, mapped)
