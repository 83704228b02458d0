#: question: q3-solution
#: misses: q3-test
dview = rc[[0]]  # one engine does it all
dview.push({"download_and_count": download_and_count, "base_url": base_url}, block=True)

@dview.parallel(block=False)
def count_ngrams(names):
    import os
    return [(name, download_and_count(name, base_url)[2], os.getpid()) for name in names]

ar = count_ngrams(files)
results = ar.get(timeout=60)
