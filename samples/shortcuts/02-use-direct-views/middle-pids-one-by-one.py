#: question: q4-solution
#: misses: q4-test
middle = rc[1:3]
evens = rc[::2]
middle_pids = [rc[1].apply_sync(os.getpid), rc[2].apply_sync(os.getpid)]
