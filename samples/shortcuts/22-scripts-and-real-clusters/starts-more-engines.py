#: question: q3-solution
#: misses: q3-test
def restart(cluster_file, n):
    cluster = ipp.Cluster.from_file(cluster_file)
    client = cluster.connect_client_sync()
    client.wait_for_engines(n, timeout=60)
    old = set(client.ids)
    cluster.start_engines_sync(n)  # n fresh engines next to the old ones
    while len(set(client.ids) - old) < n:
        time.sleep(0.05)
    ids = sorted(set(client.ids) - old)
    pids = dict(zip(ids, client[ids].apply_sync(os.getpid)))
    client.close()
    return pids
