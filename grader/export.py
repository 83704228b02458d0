"""``grader export``: scores from the gradebook as CSV or JSON, per test, exercise or student."""

from __future__ import annotations

import csv
import io
import json
import sys
from pathlib import Path

from .gradebook import Gradebook

COLUMNS = {
    "test": ["student", "exercise", "test", "points", "max_points", "status", "message"],
    "exercise": ["student", "exercise", "points", "max_points", "status", "message", "flags", "checksum", "finished"],
    "student": ["student", "points", "max_points", "exercises_graded", "exercises_with_errors"],
}


def rows(book: Gradebook, level: str) -> list[dict]:
    subs = book.submissions()
    if level == "test":
        return [{"student": s.student, "exercise": s.exercise, **t.to_dict()}
                | {"message": t.message or (s.message if s.status == "error" else "")}
                for s in subs for t in (s.tests or [])] + [
            {"student": s.student, "exercise": s.exercise, "test": "", "points": 0.0, "max_points": 0.0,
             "status": "error", "message": s.message} for s in subs if s.status == "error" and not s.tests]
    if level == "exercise":
        return [{"student": s.student, "exercise": s.exercise, "points": s.total, "max_points": s.possible,
                 "status": s.status, "message": s.message, "flags": "; ".join(s.flags), "checksum": s.checksum,
                 "finished": s.finished} for s in subs]
    students: dict[str, dict] = {}
    for s in subs:
        row = students.setdefault(s.student, {"student": s.student, "points": 0.0, "max_points": 0.0,
                                              "exercises_graded": 0, "exercises_with_errors": 0})
        row["points"] += s.total
        row["max_points"] += s.possible
        row["exercises_graded" if s.status == "graded" else "exercises_with_errors"] += 1
    return list(students.values())


def main(*, gradebook: str | Path = "gradebook.sqlite", format: str = "csv", level: str = "test",
         output: str | Path | None = None) -> int:
    if not Path(gradebook).is_file():
        print(f"grader export: {gradebook}: no gradebook here; run `grader grade` first or pass --gradebook",
              file=sys.stderr)
        return 2
    with Gradebook(gradebook) as book:
        data = rows(book, level)
    if format == "json":
        text = json.dumps(data, indent=2) + "\n"
    else:
        buffer = io.StringIO()
        writer = csv.DictWriter(buffer, fieldnames=COLUMNS[level], extrasaction="ignore", lineterminator="\n")
        writer.writeheader()
        writer.writerows(data)
        text = buffer.getvalue()
    if output:
        Path(output).write_text(text)
    else:
        sys.stdout.write(text)
    return 0


def gradescope_results(result) -> dict:
    """A Gradescope-style ``results.json`` for one submission."""
    return {
        "score": result.total,
        "output": result.message or "; ".join(result.flags),
        "tests": [{"name": t.test, "score": t.points, "max_score": t.max_points,
                   "status": "passed" if t.status == "passed" else "failed", "output": t.message}
                  for t in result.tests],
    }
