#: question: q2-solution
#: misses: q2-test
def engine_of(seq):
    pids = dview.apply_sync(os.getpid)
    base, extra = divmod(len(seq), len(pids))
    return [pid for i, pid in enumerate(pids) for _ in range(base + (i < extra))]
