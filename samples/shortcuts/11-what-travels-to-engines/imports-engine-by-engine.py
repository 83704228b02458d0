#: question: q2-solution
#: misses: q2-test
def remote_modules(view, names):
    for i in view.targets:  # a list on rc[1:] and rc[::2]; an int on rc[3], "all" on direct_view()
        rc[i].execute("\n".join(f"import {name}" for name in names), block=True)
