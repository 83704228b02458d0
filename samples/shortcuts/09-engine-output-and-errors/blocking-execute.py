#: question: q4-solution
#: misses: q4-test
def execute_report(view, code):
    ar = view.execute(code, block=True)  # raises as soon as one engine fails
    return {engine: (out, None) for engine, out in zip(ar.engine_id, ar.stdout)}
