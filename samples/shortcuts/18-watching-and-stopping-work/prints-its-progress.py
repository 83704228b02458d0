#: question: q1-solution
#: misses: q1-test
def run_steps(step, items):
    results = []
    for item in items:
        results.append(step(item))
        print({"done": len(results), "total": len(items)}, flush=True)  # progress on stdout, not in ar.data
    return results
