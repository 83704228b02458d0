#: question: q4-solution
#: misses: q4-test
def remote_increment(view, name):
    values = view.pull(name, block=True)
    view.push({name: values[0] + 1}, block=True)  # every engine gets engine 0's value plus one
