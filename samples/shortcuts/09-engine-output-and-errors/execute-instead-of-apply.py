#: question: q1-solution
#: misses: q1-test
def shout(word):
    import os
    print(f"{word.upper()} from {os.getpid()}")
    return word


def printed_by_engine(view, f, *args):
    view.push({"_f": f, "_args": args}, block=True)
    ar = view.execute("_f(*_args)", block=False)  # the same text printed, through execute instead of apply
    ar.get()
    ar.wait_for_output()
    if isinstance(ar.engine_id, int):
        return {ar.engine_id: ar.stdout}
    return dict(zip(ar.engine_id, ar.stdout))


shouts = printed_by_engine(dview, shout, "hi")
