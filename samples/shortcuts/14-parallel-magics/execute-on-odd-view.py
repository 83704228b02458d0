#: question: q4-solution
#: misses: q4-test
odd_view = rc.activate(targets=rc.ids[1::2], suffix="_odd")
odd_view.execute('parity = "odd"', silent=False)  # on the odd engines, without the magic, never awaited
