#: question: q1-solution
#: misses: q1-test
def shout(word):
    import os
    print(f"{word.upper()} from {os.getpid()}")
    return word


def _run_and_capture(f, *args):
    import contextlib
    import io
    buffer = io.StringIO()
    with contextlib.redirect_stdout(buffer):
        f(*args)
    return buffer.getvalue()


def printed_by_engine(view, f, *args):
    # captures the output itself instead of reading the AsyncResult's stdout
    return dict(zip(view.targets, view.apply_sync(_run_and_capture, f, *args)))


shouts = printed_by_engine(dview, shout, "hi")
