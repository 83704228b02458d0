#: question: q3-solution
#: misses: q3-test
def failing_engines(ar):
    try:
        ar.get()
    except ipp.CompositeError as err:
        return list(range(len(err.elist)))  # positions in elist taken for engine ids
    except ipp.RemoteError as err:
        return [err.engine_info["engine_id"]]
    return []
