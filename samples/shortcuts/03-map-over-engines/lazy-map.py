#: question: q4-solution
#: misses: q4-test
builtin_pairs = map(square_and_pid, range(16))
