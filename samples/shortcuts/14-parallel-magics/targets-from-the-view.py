#: question: q3-solution
#: misses: q3-test
def px_execute(view, code):
    return view.execute(code, silent=False, block=False, targets=list(view.targets))  # the view's engines, spelt out
