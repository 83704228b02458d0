#: question: q2-solution
#: misses: q2-test
def pids_of(view):
    return [rc[i].apply_sync(os.getpid) for i in view.targets]

all_pids = pids_of(dview)
