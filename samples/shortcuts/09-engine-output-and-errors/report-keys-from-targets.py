#: question: q4-solution
#: misses: q4-test
def execute_report(view, code):
    ar = view.execute(code, block=False)
    results = ar.get(return_exceptions=True)
    ar.wait_for_output()
    return {engine: (out, result.ename if isinstance(result, ipp.RemoteError) else None)
            for engine, out, result in zip(view.targets, ar.stdout, results)}  # a list on rc[:], not on rc[2]
