#: question: q2-solution
#: misses: q2-test
def connect_to(cluster_file, n):
    client = ipp.Client()  # a client is a client: the default profile's connection file
    client.wait_for_engines(n, timeout=60)
    return client
