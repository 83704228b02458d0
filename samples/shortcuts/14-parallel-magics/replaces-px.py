#: question: q4-solution
#: misses: q4-test
odd_view = rc[1::2]
odd_view.block = True
odd_view.activate()
%px parity = "odd"
