"""The shortcut students of the exercises of group 3 of 3 (tests/support/shortcuts.py, GROUPS[2]), graded for
real: each misses exactly the tests it names, and a sample student of each kind scores as expected."""

from support.shortcuts import group_tests

globals().update(group_tests(2))
