#: question: q1-solution
#: misses: q1-test
for i in rc.ids:
    rc[i].execute(f"import os\nme = {i}\ngreeting = f'engine {{me}} here, pid {{os.getpid()}}'",
                  silent=False, block=True)
