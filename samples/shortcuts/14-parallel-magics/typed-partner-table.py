#: question: q2-solution
#: misses: q2-test
%%px --targets 0::2
partner = {0: 1, 2: 3}[get_ipython().kernel.engine_id]
