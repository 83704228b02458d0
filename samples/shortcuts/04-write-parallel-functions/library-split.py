#: question: q3-solution
#: misses: q3-test
def predict_lengths(n, k):
    from ipyparallel.client.map import Map  # ipyparallel's own splitter says it
    return [len(Map().getPartition(range(n), p, k)) for p in range(k)]
