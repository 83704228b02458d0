#: question: q3-solution
#: misses: q3-test
def gather_b(view):
    return np.concatenate([rc[i]["b"] for i in view.targets])  # one engine at a time

b_all = gather_b(dview)

def mark_owner():
    global owner
    owner = np.full(a.shape, os.getpid())

def gather_owners(view):
    view.apply_sync(mark_owner)
    return np.concatenate([rc[i]["owner"] for i in view.targets])

owners = gather_owners(dview)
