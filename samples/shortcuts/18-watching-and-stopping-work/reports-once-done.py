#: question: q2-solution
#: misses: q2-test
def follow(ar, report):
    result = ar.get()  # wait for the task, then tell what it published
    report(dict(ar.data))
    return result
