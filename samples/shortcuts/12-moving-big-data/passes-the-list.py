#: question: q1-solution
#: misses: q1-test
def send_arrays(view, f, arrays):
    return view.apply_sync(f, arrays)  # one list of 80 arrays: pickled whole, every array copied into the pickle
