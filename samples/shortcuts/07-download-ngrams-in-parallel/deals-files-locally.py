#: question: q1-solution
#: misses: q1-test
def share_files(view, names):
    n = len(view.targets)
    return [names[i::n] for i in range(n)]  # dealt out like cards, nothing sent to the engines

assignment = share_files(dview, files)
