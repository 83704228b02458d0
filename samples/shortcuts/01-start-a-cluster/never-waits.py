#: question: q3-solution
#: misses: q3-test
def connect(n, timeout=60):
    client = ipp.Client()
    if len(client.ids) < n:
        client.close()
        raise TimeoutError(f"fewer than {n} engines")
    return client
