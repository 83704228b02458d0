#: question: q3-solution
#: misses: q3-test
#: prelude: 11-account
def call_remotely(view, obj, method, *args):
    view.use_cloudpickle().get()
    return view.apply_sync(lambda o: getattr(o, method)(*args), obj)


reports = call_remotely(dview, Account(5), "report", 1)
