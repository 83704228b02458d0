#: question: q1-solution
#: misses: q1-test
for i, pid in zip(rc.ids, dview.apply_sync(os.getpid)):
    rc[i]["me"] = i
    rc[i]["greeting"] = f"engine {i} here, pid {pid}"  # the same values, computed here
