#: question: q1-solution
#: misses: q1-test
def run_graph(view, graph, f):
    return {name: view.apply_async(f, name) for name in graph}  # in the graph's order: parents are sent first anyway
