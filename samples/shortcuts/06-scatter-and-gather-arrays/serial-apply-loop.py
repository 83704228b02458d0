#: question: q2-solution
#: misses: q2-test
def square_part():
    global b
    b = a * a
    return os.getpid(), b.size

part_results = [rc[i].apply_sync(square_part) for i in dview.targets]
