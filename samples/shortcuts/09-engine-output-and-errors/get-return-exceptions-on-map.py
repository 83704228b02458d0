#: question: q3-solution
#: misses: q3-test
def failing_engines(ar):
    results = ar.get(return_exceptions=True)  # fine for apply; on a load-balanced map: TypeError (issue 937)
    if not isinstance(results, list):
        results = [results]
    return sorted({r.engine_info["engine_id"] for r in results if isinstance(r, ipp.RemoteError)})
