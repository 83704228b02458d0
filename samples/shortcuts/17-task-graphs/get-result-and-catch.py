#: question: q3-solution
#: misses: q3-test
def failed_tasks(rc, msg_ids):
    failed = {}
    for msg_id in msg_ids:
        try:
            rc.get_result(msg_id).get()  # this client's results, not the hub's database
        except ipp.RemoteError as err:
            failed[msg_id] = err.ename
    return failed
