#: question: q3-solution
#: misses: q3-test
def failing_engines(ar):
    try:
        ar.get()
    except ipp.CompositeError as err:
        try:
            err.raise_exception()  # only the first error of elist
        except ipp.RemoteError as first:
            return [first.engine_info["engine_id"]]
    except ipp.RemoteError as err:
        return [err.engine_info["engine_id"]]
    return []
