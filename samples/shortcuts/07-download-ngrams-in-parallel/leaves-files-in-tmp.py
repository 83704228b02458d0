#: question: q2-solution
#: misses: q2-test
def download_and_count(filename, base_url):
    import gzip
    import os
    import shutil
    import tempfile
    import wget

    workdir = tempfile.mkdtemp(prefix="ngrams-")
    cwd = os.getcwd()
    os.chdir(workdir)
    try:
        path = wget.download(base_url + filename, out=os.path.join(tempfile.gettempdir(), filename), bar=None)  # kept
        n_bytes = os.path.getsize(path)
        n_lines = 0
        with gzip.open(path, "rb") as f:
            for _ in f:
                n_lines += 1
    finally:
        os.chdir(cwd)
        shutil.rmtree(workdir, ignore_errors=True)
    return filename, n_bytes, n_lines
