#: question: q2-solution
#: misses: q2-test
def follow(ar, report):
    last = None
    while not ar.ready():
        if ar.progress != last:  # the count of finished tasks: 0 until the task is done
            last = ar.progress
            report({"done": ar.progress, "total": len(ar)})
        time.sleep(0.01)
    return ar.get()
