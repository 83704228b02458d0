#: question: q4-solution
#: misses: q4-test
import time


def execute_report(view, code):
    ar = view.execute(code, block=False)
    time.sleep(3)  # the code is short: it has run by now
    engines, outs, metadata = ar.engine_id, ar.stdout, ar.metadata
    if isinstance(engines, int):
        engines, outs, metadata = [engines], [outs], [metadata]
    return {engine: (out, md["error"].ename if md.get("status") == "error" else None)
            for engine, out, md in zip(engines, outs, metadata)}
