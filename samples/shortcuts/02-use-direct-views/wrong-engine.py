#: question: q1-solution
#: misses: q1-test
pid0 = rc[1].apply_sync(os.getpid)
