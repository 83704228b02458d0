#: question: q1-solution
#: misses: q1-test
for i, part in zip(dview.targets, np.array_split(a, len(dview.targets))):
    rc[i]["a"] = part  # the same parts scatter would make
parts = dview["a"]
