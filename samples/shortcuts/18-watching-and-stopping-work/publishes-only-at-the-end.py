#: question: q1-solution
#: misses: q1-test
def run_steps(step, items):
    from ipyparallel.datapub import publish_data
    results = [step(item) for item in items]
    publish_data({"done": len(results), "total": len(items)})  # one report, once everything is done
    return results
