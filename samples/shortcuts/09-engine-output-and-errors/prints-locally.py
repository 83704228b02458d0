#: question: q1-solution
#: misses: q1-test
import contextlib
import io


def shout(word):
    import os
    print(f"{word.upper()} from {os.getpid()}")
    return word


def printed_by_engine(view, f, *args):
    view.apply_sync(f, *args)  # the engines run it too...
    printed = {}
    for i in view.targets:  # ...but the text is captured here, one run per engine
        buffer = io.StringIO()
        with contextlib.redirect_stdout(buffer):
            f(*args)
        printed[i] = buffer.getvalue()
    return printed


shouts = printed_by_engine(dview, shout, "hi")
