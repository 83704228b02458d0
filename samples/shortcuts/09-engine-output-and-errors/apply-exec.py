#: question: q4-solution
#: misses: q4-test
def _run(code):
    exec(code, globals())  # the engine's namespace: the same effects and output as execute


def execute_report(view, code):
    ar = view.apply_async(_run, code)
    results = ar.get(return_exceptions=True)
    ar.wait_for_output()
    engines, outs = ar.engine_id, ar.stdout
    if isinstance(engines, int):
        engines, outs, results = [engines], [outs], [results]
    return {engine: (out, result.ename if isinstance(result, ipp.RemoteError) else None)
            for engine, out, result in zip(engines, outs, results)}
