#: question: q3-solution
#: misses: q3-test
def px_execute(view, code):
    return view.execute(code, block=False)
