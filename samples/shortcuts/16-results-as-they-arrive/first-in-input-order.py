#: question: q1-solution
#: misses: q1-test
def first_done(view, f, inputs):
    return next(iter(view.map_async(f, inputs)))  # the first result the iteration hands over
