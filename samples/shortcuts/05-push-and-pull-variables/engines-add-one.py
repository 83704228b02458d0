#: question: q4-solution
#: misses: q4-test
def remote_increment(view, name):
    view.pull(name, block=True)
    view.execute(f"{name} = {name} + 1", block=True)  # each engine adds 1 itself: no push needed
