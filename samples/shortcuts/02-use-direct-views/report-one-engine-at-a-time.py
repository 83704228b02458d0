#: question: q3-solution
#: misses: q3-test
def run_and_report(f, *args):
    import os
    return os.getpid(), f(*args)

def report_from(view, f, *args):
    out = []
    for i in view.targets:
        with view.temp_flags(targets=i):
            out.append(view.apply_sync(run_and_report, f, *args))
    return out

reports = report_from(dview, longrun, 10000)
