#: question: q1-solution
#: misses: q1-test
def shout(word):
    import os
    print(f"{word.upper()} from {os.getpid()}")
    return word


def printed_by_engine(view, f, *args):
    ar = view.apply_async(f, *args)
    ar.get()
    ar.wait_for_output()
    return dict(zip(view.targets, ar.stdout))  # a list on rc[:] and rc[1:]; an int on rc[2], "all" on direct_view()


shouts = printed_by_engine(dview, shout, "hi")
