#: question: q3-solution
#: misses: q3-test
def px_execute(view, code):
    return dview.execute(code, silent=False, block=False)
