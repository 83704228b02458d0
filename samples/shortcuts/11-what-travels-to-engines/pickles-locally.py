#: question: q4-solution
#: misses: q4-test
def can_travel(view, obj):
    try:
        pickle.dumps(obj)  # if pickle takes it here, it can go
    except Exception:
        return False
    return True
