#: question: q3-solution
#: misses: q3-test
def gather_b(view):
    return view.gather("b", block=True)

b_all = gather_b(dview)

def mark_owner():
    global owner
    owner = np.full(a.shape, os.getpid())

def gather_owners(view):
    view.apply_sync(mark_owner)
    pids = view.apply_sync(os.getpid)
    sizes = [len(p) for p in view.pull("a", block=True)]
    return np.repeat(pids, sizes)  # the same array as owner, built here from the PIDs and sizes

owners = gather_owners(dview)
