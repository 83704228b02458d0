#: question: q4-solution
#: misses: q4-test
def lines_per_engine(results):
    totals = {}
    for name, n_lines, pid in results:
        totals[pid] = totals.get(pid, 0) + 1  # one per file
    return totals

totals = lines_per_engine(results)
