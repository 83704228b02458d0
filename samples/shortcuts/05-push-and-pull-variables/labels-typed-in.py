#: question: q1-solution
#: misses: q1-test
def label_engines(view):
    return [f"engine {i}" for i in view.targets]  # what the engines would say

labels = label_engines(dview)
