#: question: q1-solution
#: misses: q1-test
import os
me = 0
greeting = f"engine {me} here, pid {os.getpid()}"
