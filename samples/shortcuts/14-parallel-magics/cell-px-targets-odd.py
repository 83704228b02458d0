#: question: q4-solution
#: misses: q4-test
odd_view = rc.activate(targets=rc.ids[1::2], suffix="_odd")
get_ipython().run_cell_magic("px", "--targets 1::2", 'parity = "odd"')  # %%px, not %px_odd
