"""Process containment, the lowest layer: clusters, the fork server, sealed boxes, kernel launching.

``course`` (what students use) and ``grader`` (what instructors use) both build on
this package; it imports neither of them.
"""
