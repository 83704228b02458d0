#: question: q2-solution
#: misses: q2-test
def remote_modules(view, names):
    with view.sync_imports(quiet=True):
        import statistics, fractions  # the modules of the question's example, whatever names says
