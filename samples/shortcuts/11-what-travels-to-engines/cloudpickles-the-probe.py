#: question: q4-solution
#: misses: q4-test
def can_travel(view, obj):
    view.use_cloudpickle().get()  # more things travel this way
    try:
        view.apply_sync(lambda x: True, obj)
    except Exception:
        return False
    finally:
        view.use_pickle().get()
    return True
