#: question: q1-solution
#: misses: q1-test
def send_arrays(view, f, arrays):
    def gather(*each):
        return f(list(each))

    return view.apply_sync(gather, *[a.copy() for a in arrays])  # "to be safe": a copy of every array, made here
