#: question: q1-solution
#: misses: q1-test
def shout(word):
    import os
    print(f"{word.upper()} from {os.getpid()}")
    return word


def printed_by_engine(view, f, *args):
    printed = {}
    for i in view.targets:  # one engine at a time, through rc[i] instead of the view
        ar = rc[i].apply_async(f, *args)
        ar.get()
        ar.wait_for_output()
        printed[i] = ar.stdout
    return printed


shouts = printed_by_engine(dview, shout, "hi")
