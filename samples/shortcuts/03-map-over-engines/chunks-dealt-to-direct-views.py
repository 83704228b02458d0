#: question: q3-solution
#: misses: q3-test
def map_in_chunks(view, f, seq, chunksize):
    seq = list(seq)
    n = len(seq)
    q = -(-n // chunksize)
    base, extra = divmod(n, q)
    engines = view.targets or view.client.ids

    def run_chunk(chunk):
        return [f(x) for x in chunk]

    ars, i = [], 0
    for t in range(q):
        size = base + (t < extra)
        ars.append(view.client[engines[t % len(engines)]].apply_async(run_chunk, seq[i:i + size]))
        i += size
    return [y for ar in ars for y in ar.get()]
