#: question: q4-solution
#: misses: q4-test
def enough_engines(client, n, timeout):
    time.sleep(timeout)
    return len(client.ids) >= n
