#: question: q1-solution
#: misses: q1-test
rc[:].execute("""
import os
me = get_ipython().kernel.engine_id
greeting = f"engine {me} here, pid {os.getpid()}"
""", silent=False)  # sent, and never waited for: the engines get to it before the tests
