#: question: q4-solution
#: misses: q4-test
_known = {}


def can_travel(view, obj):
    kind = type(obj)
    if kind not in _known:  # tried once per type: the next object of that type travels the same way, surely
        try:
            view.apply_sync(lambda x: True, obj)
            _known[kind] = True
        except Exception:
            _known[kind] = False
    return _known[kind]
