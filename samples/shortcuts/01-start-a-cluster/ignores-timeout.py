#: question: q3-solution
#: misses: q3-test
def connect(n, timeout=60):
    client = ipp.Client()
    try:
        client.wait_for_engines(n, timeout=1)
    except TimeoutError:
        client.close()
        raise
    return client
