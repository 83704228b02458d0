#: question: q4-solution
#: misses: q4-test
def can_travel(view, obj):
    import types

    def travels_here(o):  # what ipyparallel would do with it, worked out in this kernel
        if isinstance(o, (types.FunctionType, type)):
            return True
        if isinstance(o, (list, tuple)) and o and all(callable(x) for x in o):
            return True
        pickle.dumps(o)
        return True

    try:
        travels_here(obj)
    except Exception:
        return False
    if type(obj).__module__ == "__main__":  # the engine only has to know the class: ask it by name
        return view.apply_sync(lambda name: name in globals(), type(obj).__name__)
    return True
