#: question: q1-solution
#: misses: q1-test
def shout(word):
    import os
    print(f"{word.upper()} from {os.getpid()}")
    return word


def _capture(f, *args):
    import sys
    out = sys.stdout
    parts = []
    out.write = lambda s: parts.append(s) or len(s)  # still an OutStream, but the text stays here
    try:
        f(*args)
    finally:
        del out.write
    return "".join(parts)


def printed_by_engine(view, f, *args):
    return dict(zip(view.targets, view.apply_sync(_capture, f, *args)))


shouts = printed_by_engine(dview, shout, "hi")
