#: question: q3-solution
#: misses: q3-test
def map_in_chunks(view, f, seq, chunksize):
    return lview.map_sync(f, seq, chunksize=chunksize)
