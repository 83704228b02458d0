#: question: q3-solution
#: misses: q3-test
def failing_engines(ar):
    ar.wait()
    if ar.successful():
        return []
    engines = ar.engine_id  # every engine of the call, failed or not
    return sorted(set(engines if isinstance(engines, list) else [engines]))
