#: question: q1-solution
#: misses: q1-test
def run_graph(view, graph, f):
    tasks = {}
    for name, parents in graph.items():
        with view.temp_flags(after=[tasks[parent] for parent in parents[:1]]):  # the first parent, not all of them
            tasks[name] = view.apply_async(f, name)
    return tasks
