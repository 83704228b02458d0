#: question: q4-solution
#: misses: q4-test
odd_view = rc[1::2]
odd_view.activate("_odd")
%px_odd parity = "odd"
