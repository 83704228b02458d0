#: question: q4-solution
#: misses: q4-test
def remote_increment(view, name):
    view.execute(f"{name} = {name} + 1", block=True)
