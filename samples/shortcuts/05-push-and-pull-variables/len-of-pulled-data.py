#: question: q3-solution
#: misses: q3-test
def remote_len(view, name):
    return [len(value) for value in view.pull(name, block=True)]  # bring the data back and measure it here
