#: question: q3-solution
#: misses: q3-test
def connect(n, timeout=60):
    client = ipp.Client()
    client.wait_for_engines(n, timeout=timeout)
    return client
