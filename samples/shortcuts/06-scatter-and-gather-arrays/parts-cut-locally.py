#: question: q1-solution
#: misses: q1-test
dview.scatter("a", a, block=True)
parts = np.array_split(a, len(rc.ids))  # the same parts, no need to pull them back
