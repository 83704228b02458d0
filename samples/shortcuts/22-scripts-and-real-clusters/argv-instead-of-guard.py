#: question: q1-solution
#: misses: q1b-test
SCRIPT = """\
import json
import os
import sys

import ipyparallel as ipp


def cube(x):
    import os
    return x ** 3, os.getpid()


if len(sys.argv) > 1:  # given arguments, it is being run; imported, it is not
    n = int(sys.argv[1])
    xs = [int(x) for x in sys.argv[2:]]
    with ipp.Cluster(n=n) as rc:
        results = rc[:].map_sync(cube, xs)
    print(json.dumps({"pid": os.getpid(), "results": results}))
"""
