#: question: q2-solution
#: misses: q2-test
def pids_of(view):
    pids = []
    for i in view.targets:  # one engine at a time, on the view itself
        with view.temp_flags(targets=i):
            pids.append(view.apply_sync(os.getpid))
    return pids

all_pids = pids_of(dview)
