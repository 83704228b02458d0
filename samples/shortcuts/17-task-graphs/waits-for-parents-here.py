#: question: q1-solution
#: misses: q1-test
def run_graph(view, graph, f):
    tasks = {}
    for name, parents in graph.items():
        for parent in parents:
            tasks[parent].wait()  # the notebook waits for the parents, not the scheduler
        tasks[name] = view.apply_async(f, name)
    return tasks
