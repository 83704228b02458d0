#: question: q1-solution
#: misses: q1-test
import time

def shout(word):
    import os
    print(f"{word.upper()} from {os.getpid()}")
    return word


def printed_by_engine(view, f, *args):
    ar = view.apply_async(f, *args)
    time.sleep(3)  # long enough for anything to be printed, surely
    if isinstance(ar.engine_id, int):
        return {ar.engine_id: ar.stdout}
    return dict(zip(ar.engine_id, ar.stdout))


shouts = printed_by_engine(dview, shout, "hi")
