#: question: q4-solution
#: misses: q4-test
def enough_engines(client, n, timeout):
    try:
        client.wait_for_engines(n, timeout=0.3)
    except TimeoutError:
        return False
    return True
