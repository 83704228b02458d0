#: question: q4-solution
#: misses: q4-test
pair_view = rc[:2]

@dview.parallel(block=True)
def doubled(piece):
    return [2 * x for x in piece]
