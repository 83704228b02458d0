#: question: q1-solution
#: misses: q1-test
def label_engines(view):
    for i in view.targets:
        rc[i]["label"] = f"engine {i}"
    return [f"engine {i}" for i in view.targets]  # what was just pushed: no need to pull it back

labels = label_engines(dview)
