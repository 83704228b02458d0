#: question: q1-solution
#: misses: q1-test
a = a[:40_000]  # a smaller a is quicker to scatter
dview.scatter("a", a, block=True)
parts = dview["a"]
