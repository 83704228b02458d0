"""Grading results as plain dataclasses (what the pipeline returns and the gradebook stores)."""

from __future__ import annotations

from dataclasses import asdict, dataclass, field

from .late import LatePolicy, late_seconds

PENDING = "needs-grading"  # an answer graded by hand that nobody has graded yet
BY_HAND = "graded-by-hand"  # an answer (or task) an instructor scored with `grader manual import`
NOT_SUBMITTED = "not-submitted"  # a notebook of an assignment the student handed in without it: 0 of its points


@dataclass
class TestResult:
    __test__ = False  # not a pytest test class

    test: str  # the graded cell's grade_id
    points: float
    max_points: float
    status: str  # passed | failed | timeout | not-run (tests); needs-grading | graded-by-hand | no-answer (by hand);
    #              not-submitted (any kind: the notebook was not handed in)
    message: str = ""
    kind: str = "auto"  # auto (a test cell) | manual (an answer graded by hand) | task
    answer: str = ""  # what the student wrote, for answers graded by hand
    comment: str = ""  # the instructor's comment on an answer graded by hand
    hidden: bool = False  # the test cell holds hidden tests: its details wait until grades are published

    def to_dict(self) -> dict:
        return asdict(self)


@dataclass
class SubmissionResult:
    student: str
    exercise: str  # the notebook's name
    path: str
    checksum: str  # sha256 of the submitted file
    tests: list[TestResult] = field(default_factory=list)
    status: str = "graded"  # graded | error | not-submitted (0 of its points, counted in the totals)
    message: str = ""  # why a submission could not be graded, or how its run ended
    flags: list[str] = field(default_factory=list)  # tampering put right, crashes recovered
    max_points: float = 0.0
    started: str = ""
    finished: str = ""
    assignment: str = ""  # the nbgrader assignment ("" in the course's flat layout)
    submitted_at: str = ""  # when the student submitted (ISO 8601, UTC), if known
    due: str = ""  # the assignment's due date (ISO 8601, UTC), if it has one
    late_policy: str = ""  # how lateness is penalised (:class:`grader.late.LatePolicy` text)

    @property
    def key(self) -> str:
        return f"{self.assignment}/{self.exercise}" if self.assignment else self.exercise

    @property
    def total(self) -> float:
        """Points so far: every test passed and every answer graded by hand (before any late penalty)."""
        return sum(t.points for t in self.tests)

    @property
    def auto_points(self) -> float:
        return sum(t.points for t in self.tests if t.kind == "auto")

    @property
    def manual_points(self) -> float:
        return sum(t.points for t in self.tests if t.kind != "auto")

    @property
    def pending(self) -> list[TestResult]:
        """Answers still to be graded by hand."""
        return [t for t in self.tests if t.status == PENDING]

    @property
    def pending_points(self) -> float:
        return sum(t.max_points for t in self.pending)

    @property
    def possible(self) -> float:
        return self.max_points or sum(t.max_points for t in self.tests)

    @property
    def late_by(self) -> float:
        """Seconds after the due date it was submitted (0 when on time or not known)."""
        return late_seconds(self.submitted_at, self.due)

    @property
    def penalty(self) -> float:
        """Points taken off for lateness, under the policy recorded with the grade."""
        return LatePolicy.parse(self.late_policy).penalty(self.total, self.possible, self.late_by)

    @property
    def final(self) -> float:
        """The score after the late penalty (still without what is pending)."""
        return max(0.0, self.total - self.penalty)

    def to_dict(self) -> dict:
        d = asdict(self)
        d.update(total=self.total, possible=self.possible, auto_points=self.auto_points,
                 manual_points=self.manual_points, pending_points=self.pending_points, late_by=self.late_by,
                 penalty=self.penalty, final=self.final)
        return d

    def summary(self) -> str:
        name = f"{self.student}/{self.key}"
        if self.status == "error":
            return f"{name}: not graded: {self.message}"
        if self.status == NOT_SUBMITTED:
            return f"{name}: not submitted: 0/{self.possible:g}"
        auto = [t for t in self.tests if t.kind == "auto"]
        passed = sum(t.status == "passed" for t in auto)
        text = f"{name}: {self.total:g}/{self.possible:g} ({passed}/{len(auto)} tests passed"
        if self.pending:
            text += f"; {len(self.pending)} answer(s) worth {self.pending_points:g} to grade by hand"
        if self.penalty:
            text += f"; late: -{self.penalty:g}"
        return text + ")"
