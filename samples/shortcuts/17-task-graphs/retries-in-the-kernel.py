#: question: q2-solution
#: misses: q2-test
def with_retries(view, f, x, retries):
    for attempt in range(retries + 1):  # a new task for each attempt, sent from the notebook
        try:
            return view.apply_sync(f, x)
        except ipp.RemoteError:
            if attempt == retries:
                raise
