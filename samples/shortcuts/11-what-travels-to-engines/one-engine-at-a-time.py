#: question: q3-solution
#: misses: q3-test
#: prelude: 11-account

def call_remotely(view, obj, method, *args):
    view.use_cloudpickle().get()
    try:  # one call per engine of the view, through views of one engine
        return [rc[i].apply_sync(lambda o: getattr(o, method)(*args), obj) for i in view.targets]
    finally:
        view.use_pickle().get()


reports = call_remotely(dview, Account(5), "report", 1)
