#: question: q2-solution
#: misses: q2-test
def remote_modules(view, names):
    dview.execute("import " + ", ".join(names), block=True)
