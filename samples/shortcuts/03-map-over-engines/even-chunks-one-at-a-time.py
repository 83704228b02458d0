#: question: q3-solution
#: misses: q3-test
def map_in_chunks(view, f, seq, chunksize):
    seq = list(seq)
    n = len(seq)
    q = -(-n // chunksize)
    base, extra = divmod(n, q)
    out, i = [], 0

    def run_chunk(chunk):
        return [f(x) for x in chunk]

    for t in range(q):
        size = base + (t < extra)
        out.extend(view.apply_sync(run_chunk, seq[i:i + size]))
        i += size
    return out
