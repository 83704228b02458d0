BONUS = 100


def with_bonus(x):
    return x + BONUS


class Account:
    def __init__(self, balance):
        self.balance = balance

    def report(self, extra):
        import os
        return with_bonus(self.balance + extra), os.getpid()


