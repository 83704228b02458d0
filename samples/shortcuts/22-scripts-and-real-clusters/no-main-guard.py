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


n = int(sys.argv[1])  # it runs fine with python cubes.py: why a guard?
xs = [int(x) for x in sys.argv[2:]]
with ipp.Cluster(n=n) as rc:
    results = rc[:].map_sync(cube, xs)
print(json.dumps({"pid": os.getpid(), "results": results}))
"""
