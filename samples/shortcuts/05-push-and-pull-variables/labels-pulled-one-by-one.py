#: question: q1-solution
#: misses: q1-test
def label_engines(view):
    for i in view.targets:
        rc[i]["label"] = f"engine {i}"
    return [rc[i]["label"] for i in view.targets]  # one engine at a time

labels = label_engines(dview)
