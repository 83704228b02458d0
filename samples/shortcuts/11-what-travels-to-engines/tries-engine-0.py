#: question: q4-solution
#: misses: q4-test
def can_travel(view, obj):
    try:
        rc[0].apply_sync(lambda x: True, obj)  # every engine is the same, isn't it?
    except Exception:
        return False
    return True
