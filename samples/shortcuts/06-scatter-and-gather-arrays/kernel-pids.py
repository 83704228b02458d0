#: question: q2-solution
#: misses: q2-test
def square_part():
    global b
    b = a * a
    return os.getpid(), b.size

dview.apply_sync(square_part)
part_results = [(os.getpid(), len(p)) for p in parts]  # the sizes are the same anyway
