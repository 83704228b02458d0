#: question: q1-solution
#: misses: q1-test
def _set_greeting():
    exec("import os\nme = get_ipython().kernel.engine_id\ngreeting = f'engine {me} here, pid {os.getpid()}'",
         globals())


dview.apply_sync(_set_greeting)
