"""Late submissions: when a notebook was handed in, when it was due, and what lateness costs.

Times are stored as ISO 8601 in UTC.  They are read from nbgrader's ``timestamp.txt``
(``2026-01-10 11:58:03.123456 America/New_York``), from ISO 8601 text, or from a
``--submitted-at`` CSV; a time without a zone is UTC, as nbgrader takes it.

A policy is text, so that the gradebook records the one each grade was given under:

- ``none``: no penalty;
- ``zero``: a late submission scores 0 (nbgrader's ``penalty_method = "zero"``);
- ``per-hour:P`` / ``per-day:P``: P percent of the points possible off for every hour (day)
  or part of one that it was late, never below 0;

each optionally followed by ``;grace=SECONDS``: lateness up to the grace period costs nothing,
and periods are counted from its end.
"""

from __future__ import annotations

import math
import re
import sys
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

POLICIES = ("none", "zero", "per-hour", "per-day")
PERIOD = {"per-hour": 3600, "per-day": 86400}
_DURATION = re.compile(r"^\s*(\d+(?:\.\d+)?)\s*(s|sec|m|min|h|hour|hours|d|day|days)?\s*$")
_UNITS = {None: 1, "s": 1, "sec": 1, "m": 60, "min": 60, "h": 3600, "hour": 3600, "hours": 3600,
          "d": 86400, "day": 86400, "days": 86400}


class LateError(ValueError):
    """A time, a duration or a policy that cannot be read (the message says what is expected)."""


def parse_time(text: str) -> datetime:
    """An aware UTC datetime from nbgrader's timestamp format or ISO 8601; a time with no zone is UTC."""
    raw = text.strip()
    if not raw:
        raise LateError("an empty time; expected e.g. 2026-01-10 12:00:00 UTC or 2026-01-10T12:00:00+00:00")
    name = None
    parts = raw.split()
    if len(parts) == 3 or (len(parts) == 2 and not re.match(r"^\d", parts[1])):
        raw, name = " ".join(parts[:-1]), parts[-1]
    try:
        when = datetime.fromisoformat(raw.replace("Z", "+00:00"))
    except ValueError:
        raise LateError(f"{text.strip()!r} is not a time; expected e.g. 2026-01-10 12:00:00 UTC or "
                        "2026-01-10T12:00:00+00:00") from None
    zone = None
    if name is not None:
        try:
            zone = UTC if name.upper() in ("UTC", "Z", "GMT") else ZoneInfo(name)
        except (ZoneInfoNotFoundError, ValueError):
            raise LateError(f"{text.strip()!r}: unknown time zone {name!r}; use a name such as UTC or "
                            "Europe/Berlin, or an offset such as +01:00") from None
    if zone is not None:
        when = when.replace(tzinfo=zone) if when.tzinfo is None else when
    elif when.tzinfo is None:
        when = when.replace(tzinfo=UTC)
    return when.astimezone(UTC)


def iso(when: datetime | None) -> str:
    return when.astimezone(UTC).isoformat(timespec="seconds") if when else ""


def parse_duration(text: str) -> float:
    """Seconds, from ``90``, ``15m``, ``2h`` or ``1d``."""
    m = _DURATION.match(str(text).lower())
    if not m:
        raise LateError(f"{text!r} is not a duration; expected e.g. 900, 15m, 2h or 1d")
    return float(m.group(1)) * _UNITS[m.group(2)]


def late_seconds(submitted_at: str, due: str) -> float:
    if not submitted_at or not due:
        return 0.0
    return max(0.0, (parse_time(submitted_at) - parse_time(due)).total_seconds())


@dataclass(frozen=True)
class LatePolicy:
    method: str = "none"
    percent: float = 0.0
    grace: float = 0.0  # seconds

    @classmethod
    def parse(cls, text: str | None, grace: float | None = None) -> LatePolicy:
        """From ``none``, ``zero``, ``per-hour:P`` or ``per-day:P`` (optionally ``;grace=SECONDS``)."""
        text = (text or "none").strip()
        head, _, rest = text.partition(";")
        method, _, percent = head.strip().partition(":")
        if method not in POLICIES:
            raise LateError(f"late policy {text!r}: expected none, zero, per-hour:P or per-day:P (P a percentage)")
        pct = 0.0
        if method in PERIOD:
            try:
                pct = float(percent)
            except ValueError:
                raise LateError(f"late policy {text!r}: {method} needs a percentage, e.g. {method}:10") from None
            if not 0 < pct <= 100:
                raise LateError(f"late policy {text!r}: the percentage must be above 0 and at most 100")
        elif percent:
            raise LateError(f"late policy {text!r}: {method} takes no percentage")
        if grace is None:
            grace = 0.0
            for item in filter(None, (p.strip() for p in rest.split(";"))):
                key, _, value = item.partition("=")
                if key.strip() != "grace":
                    raise LateError(f"late policy {text!r}: unknown setting {key.strip()!r}")
                grace = parse_duration(value)
        if grace < 0:
            raise LateError("the grace period cannot be negative")
        return cls(method, pct, float(grace))

    def __str__(self) -> str:
        text = f"{self.method}:{self.percent:g}" if self.method in PERIOD else self.method
        return text + (f";grace={self.grace:g}" if self.grace else "")

    def penalty(self, score: float, possible: float, late_by: float) -> float:
        """Points off ``score`` (out of ``possible``) for a submission ``late_by`` seconds after its due date."""
        over = late_by - self.grace
        if self.method == "none" or over <= 0 or score <= 0:
            return 0.0
        if self.method == "zero":
            return score
        periods = math.ceil(over / PERIOD[self.method])
        return min(score, possible * self.percent / 100 * periods)

    def describe(self) -> str:
        grace = f" after a grace period of {timedelta(seconds=self.grace)}" if self.grace else ""
        if self.method == "none":
            return "no penalty for late submissions"
        if self.method == "zero":
            return f"a late submission scores 0{grace}"
        unit = "hour" if self.method == "per-hour" else "day"
        return f"{self.percent:g}% of the points possible off per {unit} (or part of one) late{grace}"


# -- the run's lateness: due dates and submission times -----------------------------------------------------

@dataclass
class Lateness:
    """When each assignment is due and what lateness costs (the same for the whole run)."""

    due: dict[str, str]  # assignment (or exercise, in the flat layout) or "*" -> ISO UTC due date
    policy: LatePolicy
    submitted_at: dict[tuple[str, str], str]  # (student, assignment or "*") -> ISO UTC, from --submitted-at

    def apply(self, sub, result) -> None:
        """Set ``result``'s due date, submission time and policy for ``sub`` (a grader.intake.Submission)."""
        name = sub.assignment or sub.exercise
        result.due = self.due.get(name) or self.due.get("*", "")
        result.submitted_at = (self.submitted_at.get((sub.student, name)) or self.submitted_at.get((sub.student, "*"))
                               or sub.submitted_at)
        result.late_policy = str(self.policy) if result.due else ""


NO_LATENESS = Lateness({}, LatePolicy(), {})


def grace_seconds(grace: str | float) -> float:
    """Seconds from ``--grace`` (``15m``, ``2h``, or a number of seconds)."""
    return float(grace) if isinstance(grace, (int, float)) else parse_duration(grace)


def lateness_of(options, course: Path | None) -> Lateness:
    """The run's :class:`Lateness` from its options (``due``, ``late_policy``, ``grace``, ``submitted_at``) and an
    nbgrader course's own due dates."""
    return Lateness(due_dates(course, options.due), LatePolicy.parse(options.late_policy, grace_seconds(options.grace)),
                    read_submitted_at(options.submitted_at) if options.submitted_at else {})


def due_dates(course: Path | None, given) -> dict[str, str]:
    """Assignment (or "*") -> ISO UTC due date: an nbgrader course's own (its gradebook.db), then ``given``
    (``NAME=WHEN`` or ``WHEN``), which win."""
    dues: dict[str, str] = {}
    if course is not None and (course / "gradebook.db").is_file():
        import sqlite3

        try:
            db = sqlite3.connect(f"file:{course / 'gradebook.db'}?mode=ro", uri=True)
            try:
                for name, when in db.execute("SELECT name, duedate FROM assignment WHERE duedate IS NOT NULL"):
                    dues[name] = iso(parse_time(str(when)))  # nbgrader stores naive UTC
            finally:
                db.close()
        except sqlite3.Error as e:
            print(f"grader grade: {course / 'gradebook.db'}: due dates not read ({e}); pass --due", file=sys.stderr)
    for item in given:
        name, sep, when = item.partition("=")
        if not sep:
            name, when = "*", item
        if not name.strip():
            raise LateError(f"--due {item!r}: expected ASSIGNMENT=WHEN or WHEN")
        dues[name.strip()] = iso(parse_time(when))
    return dues


def read_submitted_at(path: str | Path) -> dict[tuple[str, str], str]:
    """(student, assignment or "*") -> ISO UTC from a CSV with columns student, assignment (optional),
    submitted_at."""
    import csv

    path = Path(path)
    try:
        with open(path, newline="", encoding="utf-8-sig") as f:
            reader = csv.DictReader(f)
            if not reader.fieldnames or not {"student", "submitted_at"} <= set(reader.fieldnames):
                raise LateError(f"{path}: expected columns student, assignment (optional) and submitted_at")
            times = {}
            for line, row in enumerate(reader, start=2):
                if not (row.get("student") or "").strip():
                    raise LateError(f"{path}, line {line}: no student")
                try:
                    when = iso(parse_time(row["submitted_at"] or ""))
                except LateError as e:
                    raise LateError(f"{path}, line {line}: {e}") from None
                times[(row["student"].strip(), (row.get("assignment") or "").strip() or "*")] = when
            return times
    except OSError as e:
        raise LateError(f"{path}: cannot be read ({e.strerror}); pass --submitted-at a CSV file") from None
