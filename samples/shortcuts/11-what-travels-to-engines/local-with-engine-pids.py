#: question: q3-solution
#: misses: q3-test
#: prelude: 11-account
def call_remotely(view, obj, method, *args):
    value = getattr(obj, method)(*args)[0]  # computed here, where everything is defined
    return [(value, pid) for pid in view.apply_sync(os.getpid)]  # the engines only say who they are


reports = call_remotely(dview, Account(5), "report", 1)
