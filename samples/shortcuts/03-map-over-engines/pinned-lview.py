#: question: q1-solution
#: misses: q1-test
lview = rc.load_balanced_view(targets=[0])
