#: question: q1-solution
#: misses: q1-test
def run_steps(step, items):
    from ipyparallel.datapub import publish_data
    results = []
    for k, item in enumerate(items):
        publish_data({"done": k, "total": len(items)})  # published as each step starts: never says all are done
        results.append(step(item))
    return results
