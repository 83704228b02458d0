#: question: q3-solution
#: misses: q3-test
from ipyparallel import Client

def connect(n, timeout=60):
    client = Client()
    client.wait_for_engines(n, timeout=timeout)
    return client
