#: question: q4-solution
#: misses: q4-test
odd_view = rc.activate(targets=rc.ids[1::2], suffix="_odd")
odd_view["parity"] = "odd"
%px_odd parity
