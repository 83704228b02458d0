#: question: q2-solution
#: misses: q2-test
def with_retries(view, f, x, retries):
    view.set_flags(retries=retries)  # stays on the view for every later task
    return view.apply_async(f, x).get()
