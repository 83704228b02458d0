#: question: q1-solution
#: misses: q1-test
lview = rc[:]
