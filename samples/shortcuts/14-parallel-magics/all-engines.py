#: question: q2-solution
#: misses: q2-test
%%px
partner = get_ipython().kernel.engine_id + 1
