"""Grading results as plain dataclasses (what the pipeline returns and the gradebook stores)."""

from __future__ import annotations

from dataclasses import asdict, dataclass, field


@dataclass
class TestResult:
    __test__ = False  # not a pytest test class

    test: str  # the test cell's grade_id
    points: float
    max_points: float
    status: str  # passed | failed | timeout | not-run
    message: str = ""

    def to_dict(self) -> dict:
        return asdict(self)


@dataclass
class SubmissionResult:
    student: str
    exercise: str
    path: str
    checksum: str  # sha256 of the submitted file
    tests: list[TestResult] = field(default_factory=list)
    status: str = "graded"  # graded | error
    message: str = ""  # why a submission could not be graded, or how its run ended
    flags: list[str] = field(default_factory=list)  # tampering put right, crashes recovered
    max_points: float = 0.0
    started: str = ""
    finished: str = ""

    @property
    def total(self) -> float:
        return sum(t.points for t in self.tests)

    @property
    def possible(self) -> float:
        return self.max_points or sum(t.max_points for t in self.tests)

    def to_dict(self) -> dict:
        d = asdict(self)
        d["total"], d["possible"] = self.total, self.possible
        return d

    def summary(self) -> str:
        if self.status == "error":
            return f"{self.student}/{self.exercise}: not graded: {self.message}"
        passed = sum(t.status == "passed" for t in self.tests)
        return f"{self.student}/{self.exercise}: {self.total:g}/{self.possible:g} ({passed}/{len(self.tests)} tests passed)"
