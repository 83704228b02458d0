"""What the grading pipeline knows about one submission as it goes: ``resources["grader"]``, typed.

Each preprocessor of :data:`grader.grade.GRADING` reads and adds to it;
:func:`state_of` gives it to them (making an empty one where a caller, such as
the demo running a tutorial, did not).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import TYPE_CHECKING

from .results import TestResult

if TYPE_CHECKING:
    from .protect import Protection


@dataclass
class Reply:
    """A cell's execute reply, as far as scoring needs it."""

    status: str  # ok | error | aborted
    ename: str | None = None
    evalue: str | None = None

    def get(self, key: str, default=None):  # dict-like reads, for code that predates this class
        return getattr(self, key, default)


@dataclass
class GradingState:
    flags: list[str] = field(default_factory=list)  # what a reviewer should know: tampering put right, audit records
    replies: dict[int, Reply] = field(default_factory=dict)  # cell index -> its execute reply
    crash: str = ""  # how execution ended early (a dead or unresponsive kernel), if it did
    limits: str = ""  # which of the submission's limits it hit, if any
    tests: list[TestResult] = field(default_factory=list)  # the scores, once ScoreTests has run
    protection: Protection | None = None  # what the guard keeps as the source made it (RestoreTests works it out)

    def flag(self, text: str) -> None:
        if text not in self.flags:
            self.flags.append(text)

    @property
    def message(self) -> str:
        return "; ".join(m for m in (self.limits, self.crash) if m)


def state_of(resources: dict) -> GradingState:
    state = resources.get("grader")
    if not isinstance(state, GradingState):
        state = GradingState(flags=list((state or {}).get("flags", [])) if isinstance(state, dict) else [])
        resources["grader"] = state
    return state
