#: question: q4-solution
#: misses: q4-test
def enough_engines(client, n, timeout):
    try:
        rc.wait_for_engines(n, timeout=timeout)
    except TimeoutError:
        return False
    return True
