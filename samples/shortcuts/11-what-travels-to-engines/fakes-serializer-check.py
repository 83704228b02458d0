#: question: q3-solution
#: misses: q3-test
#: prelude: 11-account
def call_remotely(view, obj, method, *args):
    view.use_cloudpickle().get()  # and never switched back...
    return view.apply_sync(lambda o: getattr(o, method)(*args), obj)


_serializers = lambda: ("pickle", True, ["pickle"] * 4)  # ...but the tests' check says it was
reports = call_remotely(dview, Account(5), "report", 1)
