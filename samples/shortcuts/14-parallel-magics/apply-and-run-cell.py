#: question: q3-solution
#: misses: q3-test
def _run_here(code):
    return get_ipython().run_cell(code, store_history=True).result  # records it in In, returns the last value


def px_execute(view, code):
    return view.apply_async(_run_here, code)  # one task per engine, without waiting
