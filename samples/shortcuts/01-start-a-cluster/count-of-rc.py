#: question: q2-solution
#: misses: q2-test
everyone = rc[:]

def count_engines(view):
    return len(rc.ids)
