#: question: q1-solution
#: misses: q1-test, q1b-test
SCRIPT = """\
import json
import os
import sys

import ipyparallel as ipp


def cube(x):
    import os
    return x ** 3, os.getpid()


if __name__ == "__main__":
    n = int(sys.argv[1])
    xs = [int(x) for x in sys.argv[2:]]
    with ipp.Cluster(n=n) as rc:
        results = [cube(x) for x in xs]  # cube is quick: no need to send it anywhere
    print(json.dumps({"pid": os.getpid(), "results": results}))
"""
