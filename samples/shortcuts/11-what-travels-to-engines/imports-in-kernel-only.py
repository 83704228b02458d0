#: question: q2-solution
#: misses: q2-test
def remote_modules(view, names):
    for name in names:
        globals()[name] = __import__(name)  # bound here: the function sent later takes them along, surely
