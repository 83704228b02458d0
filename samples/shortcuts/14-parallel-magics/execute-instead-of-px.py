#: question: q1-solution
#: misses: q1-test
dview.execute("""
import os
me = get_ipython().kernel.engine_id
greeting = f"engine {me} here, pid {os.getpid()}"
""", silent=False, block=True)  # what %%px does, without the magic
