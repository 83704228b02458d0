#: question: q3-solution
#: misses: q3-test
def run_and_report(f, *args):
    import os
    return os.getpid(), f(*args)

def report_from(view, f, *args):
    return view.apply_sync(run_and_report, f, *args)

def longrun(n):  # the real one takes a while: n is enough to try it out
    return n

reports = report_from(dview, longrun, 10000)
