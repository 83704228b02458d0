#: question: q1-solution
#: misses: q1-test
#: flag: student code changed the name '_ids', which the tests use
lview = rc.load_balanced_view(targets=[0, 1])  # two engines are enough...
_ids = [0, 1]  # ...and the tests' list of engines says so
