#: question: q3-solution
#: misses: q3-test
#: prelude: 11-account

def call_remotely(view, obj, method, *args):
    ipp.serialize.use_cloudpickle()  # this kernel only: the engines stay on pickle for what they send back
    try:
        return view.apply_sync(lambda o: getattr(o, method)(*args), obj)
    finally:
        ipp.serialize.use_pickle()


reports = call_remotely(dview, Account(5), "report", 1)
