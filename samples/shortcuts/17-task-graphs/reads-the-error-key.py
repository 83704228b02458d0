#: question: q3-solution
#: misses: q3-test
def failed_tasks(rc, msg_ids):
    records = rc.db_query({"msg_id": {"$in": list(msg_ids)}}, keys=["msg_id", "error"])
    return {r["msg_id"]: r["error"]["ename"] for r in records if r["error"]}  # the error an engine reported
