#: question: q3-solution
#: misses: q3-test
import re


def failing_engines(ar):
    try:
        ar.get()
    except ipp.CompositeError as err:
        return sorted({int(i) for i in re.findall(r"\[(\d+):", str(err))})  # the text lists the first four only
    except ipp.RemoteError as err:
        return [err.engine_info["engine_id"]]
    return []
