#: question: q4-solution
#: misses: q4-test
def execute_report(view, code):
    view.execute(code, block=False).get(return_exceptions=True)  # the one call on the view, for show
    report = {}
    for i in view.targets:  # then again, one engine at a time
        ar = rc[i].execute(code, block=False)
        try:
            ar.get()
            error = None
        except ipp.RemoteError as err:
            error = err.ename
        ar.wait_for_output()
        report[i] = (ar.stdout, error)
    return report
