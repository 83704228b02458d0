#: question: q2-solution
#: misses: q2-test
%pxconfig --targets 0::2
%px partner = get_ipython().kernel.engine_id + 1
