#: question: q2-solution
#: misses: q2-test
rc[::2].execute("partner = get_ipython().kernel.engine_id + 1", silent=False, block=True)  # the even engines, no magic
