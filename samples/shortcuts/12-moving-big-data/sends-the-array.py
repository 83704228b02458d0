#: question: q2-solution
#: misses: q2-test
def open_on_engines(view, f, array, directory):
    np.save(os.path.join(directory, "shared.npy"), array)  # saved, but then sent anyway
    return view.apply_sync(f, array)
