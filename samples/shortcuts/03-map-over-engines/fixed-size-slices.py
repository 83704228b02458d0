#: question: q3-solution
#: misses: q3-test
def map_in_chunks(view, f, seq, chunksize):
    seq = list(seq)
    chunks = [seq[i:i + chunksize] for i in range(0, len(seq), chunksize)]  # the last one takes what is left

    def run_chunk(chunk):
        return [f(x) for x in chunk]

    return [y for part in view.map_sync(run_chunk, chunks) for y in part]
