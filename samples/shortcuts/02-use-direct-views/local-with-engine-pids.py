#: question: q3-solution
#: misses: q3-test
def run_and_report(f, *args):
    import os
    return os.getpid(), f(*args)

def report_from(view, f, *args):
    return [(pid, f(*args)) for pid in view.apply_sync(os.getpid)]

reports = report_from(dview, longrun, 10000)
