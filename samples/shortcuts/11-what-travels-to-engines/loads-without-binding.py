#: question: q2-solution
#: misses: q2-test
def remote_modules(view, names):
    view.apply_sync(lambda ns: [__import__(n) for n in ns] and None, names)  # loaded in the engine processes
