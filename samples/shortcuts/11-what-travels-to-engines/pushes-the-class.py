#: question: q3-solution
#: misses: q3-test
#: prelude: 11-account
dview.push({"with_bonus": with_bonus, "BONUS": BONUS}, block=True)


def call_remotely(view, obj, method, *args):
    view.push({type(obj).__name__: type(obj)}, block=True)  # the engines know the class: no cloudpickle needed
    return view.apply_sync(lambda o: getattr(o, method)(*args), obj)


reports = call_remotely(dview, Account(5), "report", 1)
