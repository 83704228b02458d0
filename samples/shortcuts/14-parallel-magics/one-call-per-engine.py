#: question: q3-solution
#: misses: q3-test
def px_execute(view, code):
    return [rc[i].execute(code, silent=False, block=False) for i in view.targets]
