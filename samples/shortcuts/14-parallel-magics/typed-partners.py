#: question: q2-solution
#: misses: q2-test
rc[0]["partner"] = 1
rc[2]["partner"] = 3
