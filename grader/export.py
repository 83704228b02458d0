"""``grader export``: scores from the gradebook as CSV or JSON, per test, exercise or student.

Every graded cell has a row at ``--level test``: autograded tests, answers graded by hand (``needs-grading``
until ``grader manual import``) and tasks.  Exercise and student rows show the autograded points, those given
by hand, what is still to grade, the late penalty and the final score.  A notebook a student did not hand in
with the rest of the assignment has its rows too, with status ``not-submitted`` and 0 of its points, and counts
in the student's totals (``exercises_not_submitted`` says how many), as nbgrader counts it.  In CSV, a text that a
spreadsheet would read as a formula (it begins with ``=``, ``+``, ``-``, ``@``, a tab or a carriage return) is written
with a leading ``'``, so it shows as text.
"""

from __future__ import annotations

import csv
import io
import json
import re
import sys
from pathlib import Path

from .gradebook import Gradebook
from .results import NOT_SUBMITTED

COLUMNS = {
    "test": ["student", "assignment", "exercise", "test", "kind", "points", "max_points", "status", "message",
             "comment"],
    "exercise": ["student", "assignment", "exercise", "points", "max_points", "auto_points", "manual_points",
                 "pending_points", "submitted_at", "due", "late_by_hours", "penalty", "final", "status", "message",
                 "flags", "checksum", "finished"],
    "student": ["student", "points", "max_points", "pending_points", "penalty", "final", "exercises_graded",
                "exercises_with_errors", "exercises_not_submitted"],
}
FORMULA_STARTS = ("=", "+", "-", "@", "\t", "\r")


def safe_cell(value):
    """A CSV value a spreadsheet shows as text: one that would start a formula gets a leading ``'``.

    Numbers stay numbers (a negative score is not text); only strings are changed."""
    if isinstance(value, str) and value.startswith(FORMULA_STARTS):
        return "'" + value
    return value


def _hours(seconds: float) -> float:
    return round(seconds / 3600, 2)


def rows(book: Gradebook, level: str) -> list[dict]:
    subs = book.submissions()
    if level == "test":
        return [{"student": s.student, "assignment": s.assignment, "exercise": s.exercise,
                 **{k: v for k, v in t.to_dict().items() if k != "answer"}}
                | {"message": t.message or (s.message if s.status == "error" else "")}
                for s in subs for t in (s.tests or [])] + [
            {"student": s.student, "assignment": s.assignment, "exercise": s.exercise, "test": "", "kind": "",
             "points": 0.0, "max_points": 0.0, "status": s.status, "message": s.message, "comment": ""}
            for s in subs if s.status in ("error", NOT_SUBMITTED) and not s.tests]
    if level == "exercise":
        return [{"student": s.student, "assignment": s.assignment, "exercise": s.exercise, "points": s.total,
                 "max_points": s.possible, "auto_points": s.auto_points, "manual_points": s.manual_points,
                 "pending_points": s.pending_points, "submitted_at": s.submitted_at, "due": s.due,
                 "late_by_hours": _hours(s.late_by), "penalty": s.penalty, "final": s.final, "status": s.status,
                 "message": s.message, "flags": "; ".join(s.flags), "checksum": s.checksum,
                 "finished": s.finished} for s in subs]
    students: dict[str, dict] = {}
    for s in subs:
        row = students.setdefault(s.student, {"student": s.student, "points": 0.0, "max_points": 0.0,
                                              "pending_points": 0.0, "penalty": 0.0, "final": 0.0,
                                              "exercises_graded": 0, "exercises_with_errors": 0,
                                              "exercises_not_submitted": 0})
        row["points"] += s.total
        row["max_points"] += s.possible
        row["pending_points"] += s.pending_points
        row["penalty"] += s.penalty
        row["final"] += s.final
        row[{"graded": "exercises_graded", NOT_SUBMITTED: "exercises_not_submitted"}.get(
            s.status, "exercises_with_errors")] += 1
    return list(students.values())


def to_csv(data: list[dict], columns: list[str]) -> str:
    buffer = io.StringIO()
    writer = csv.DictWriter(buffer, fieldnames=columns, extrasaction="ignore", lineterminator="\n")
    writer.writeheader()
    writer.writerows({k: safe_cell(v) for k, v in row.items()} for row in data)
    return buffer.getvalue()


def main(*, gradebook: str | Path = "gradebook.sqlite", format: str = "csv", level: str = "test",
         output: str | Path | None = None, roster: str | Path | None = None, roster_key: str | None = None) -> int:
    """``csv``/``json`` at ``level``; ``canvas``: a gradebook CSV for Canvas's importer (needs ``roster``);
    ``gradescope``: a ``results.json`` per submission in the folder ``output``."""
    if not Path(gradebook).is_file():
        print(f"grader export: {gradebook}: no gradebook here; run `grader grade` first or pass --gradebook",
              file=sys.stderr)
        return 2
    if format == "canvas" and not roster:
        print("grader export: --format canvas needs --roster ROSTER.csv (your Canvas gradebook export, or a CSV "
              "with Student, ID, SIS User ID, SIS Login ID, Section and a column naming each student's folder)",
              file=sys.stderr)
        return 2
    if format == "gradescope" and not output:
        print("grader export: --format gradescope needs -o DIR (a results.json per submission goes there)",
              file=sys.stderr)
        return 2
    with Gradebook(gradebook) as book:
        if format == "gradescope":
            assert output  # checked above: gradescope needs -o DIR
            written = write_gradescope(book, Path(output))
            print(f"wrote {written} results.json file(s) to {output}/<student>/<exercise>.results.json",
                  file=sys.stderr)
            return 0
        if format == "canvas":
            assert roster  # checked above: canvas needs --roster
            try:
                text, notes = canvas_csv(book, Path(roster), roster_key)
            except CanvasError as e:
                print(f"grader export: {e}", file=sys.stderr)
                return 2
            for note in notes:
                print(f"grader export: {note}", file=sys.stderr)
        else:
            data = rows(book, level)
            text = json.dumps(data, indent=2) + "\n" if format == "json" else to_csv(data, COLUMNS[level])
    if output:
        Path(output).write_text(text)
    else:
        sys.stdout.write(text)
    return 0


# -- Gradescope --------------------------------------------------------------------------------------------

def gradescope_results(result) -> dict:
    """Gradescope's autograder ``results.json`` for one submission (gradescope/autograder_samples, specs.md).

    A test that holds hidden tests is ``after_published``: its score and message wait until the instructor
    publishes grades (and, as Gradescope does when any test is hidden, so does the total).  Answers graded by
    hand that are still pending are listed with their points possible and a score of 0, ``after_published``.
    """
    tests = []
    for number, t in enumerate(result.tests, start=1):
        output = t.comment or t.message
        if t.status == "needs-grading":
            output = "to be graded by hand"
        tests.append({
            "name": t.test, "number": str(number), "score": t.points, "max_score": t.max_points,
            "status": "passed" if t.status in ("passed", "graded-by-hand") and t.points == t.max_points else "failed",
            "output": output, "output_format": "text",
            "visibility": "after_published" if t.hidden or t.status == "needs-grading" else "visible",
            "tags": [t.kind],
        })
    notes = ["not submitted: this notebook was not handed in with the assignment, so it counts as 0"] \
        if result.status == NOT_SUBMITTED else [result.message] if result.message else []
    notes += result.flags
    if result.penalty:
        notes.append(f"late penalty: -{result.penalty:g} ({result.late_by / 3600:.1f} h late)")
    return {
        "score": result.final,
        "output": "\n".join(notes),
        "output_format": "text",
        "test_output_format": "text",
        "visibility": "visible",
        "tests": tests,
        "extra_data": {"student": result.student, "assignment": result.assignment, "exercise": result.exercise,
                       "checksum": result.checksum, "total_before_penalty": result.total,
                       "pending_points": result.pending_points},
    }


def write_gradescope(book: Gradebook, out: Path) -> int:
    subs = book.submissions()
    for r in subs:
        folder = out / r.student / r.assignment if r.assignment else out / r.student
        folder.mkdir(parents=True, exist_ok=True)
        (folder / f"{r.exercise}.results.json").write_text(json.dumps(gradescope_results(r), indent=2) + "\n")
    return len(subs)


# -- Canvas ------------------------------------------------------------------------------------------------

CANVAS_STUDENT_COLUMNS = ["Student", "ID", "SIS User ID", "SIS Login ID", "Section"]
ROSTER_KEYS = ("folder", "student", "SIS Login ID", "SIS User ID", "ID")  # which column names the folder
_CANVAS_TITLE = re.compile(r"^(?P<title>.*\S)\s*\((?P<id>\d+)\)\s*$")


class CanvasError(ValueError):
    pass


def unsafe_cell(value: str) -> str:
    """What :func:`safe_cell` wrote, back as it was (the leading quote it added removed)."""
    return value[1:] if value[:1] == "'" and value[1:2] in FORMULA_STARTS else value


def open_csv(path: Path, error: type[Exception], advice: str) -> csv.DictReader:
    """The rows of a CSV file an instructor wrote or saved from a spreadsheet (a BOM is fine); ``error`` naming
    the file and giving ``advice`` if it cannot be read."""
    try:
        text = path.read_text(encoding="utf-8-sig")
    except (OSError, UnicodeDecodeError) as e:
        raise error(f"{path}: cannot be read ({getattr(e, 'strerror', None) or e}); {advice}") from None
    return csv.DictReader(io.StringIO(text))


def read_roster(path: Path, key: str | None = None) -> tuple[list[dict], str, dict[str, str]]:
    """(students, the column naming their folders, {assignment title: Canvas column header}) of a roster CSV."""
    reader = open_csv(path, CanvasError, "pass --roster the CSV you exported from Canvas's gradebook")
    header = reader.fieldnames or []
    if key is None:
        key = next((k for k in ROSTER_KEYS if k in header), None)
    if key is None or key not in header:
        raise CanvasError(f"{path}: no column {key or ' or '.join(ROSTER_KEYS)!r} to match student folders by; "
                          "pass --roster-key with the column that holds each student's folder name")
    if "Student" not in header:
        raise CanvasError(f"{path}: no 'Student' column; export the roster from Canvas's gradebook "
                          "(Export > Export Entire Gradebook) or add Student, ID, SIS User ID, SIS Login ID, Section")
    students = []
    for row in reader:
        first = (row.get(header[0]) or "").strip()
        if "Points Possible" in first or first in ("Student, Test", "Test Student"):
            continue
        if not (row.get(key) or "").strip():
            continue
        students.append(row)
    titles = {}
    for column in header:
        m = _CANVAS_TITLE.match(column)
        if m:
            titles[m.group("title")] = column
    return students, key, titles


def canvas_csv(book: Gradebook, roster: Path, key: str | None = None) -> tuple[str, list[str]]:
    """Canvas's gradebook import CSV: the student columns, then a column per assignment (``Title (id)`` where
    the roster has that assignment, else its name, which Canvas creates), a Points Possible row, a row per
    roster student.  Scores are final (late penalties applied).  Returns (text, notes on what did not match)."""
    students, key, titles = read_roster(roster, key)
    subs = book.submissions()
    scores: dict[str, dict[str, float]] = {}  # student -> assignment -> final points
    most: dict[tuple[str, str], float] = {}  # (student, assignment) -> points possible of their notebooks
    pending: dict[str, float] = {}
    for s in subs:
        name = s.assignment or s.exercise  # in the flat layout, an exercise is an assignment
        scores.setdefault(s.student, {}).setdefault(name, 0.0)
        scores[s.student][name] += s.final
        most[(s.student, name)] = most.get((s.student, name), 0.0) + s.possible
        if s.pending_points:
            pending[s.student] = pending.get(s.student, 0.0) + s.pending_points
    possible: dict[str, float] = {}
    for (_, name), points in most.items():
        possible[name] = max(possible.get(name, 0.0), points)
    names = sorted(possible)
    headers = [titles.get(n, n) for n in names]
    buffer = io.StringIO()
    writer = csv.writer(buffer, lineterminator="\n")
    writer.writerow(CANVAS_STUDENT_COLUMNS + headers)
    writer.writerow(["Points Possible", "", "", "", ""] + [f"{possible[n]:g}" for n in names])
    known = set()
    for row in students:
        folder = unsafe_cell(row[key].strip())
        known.add(folder)
        mine = scores.get(folder, {})
        writer.writerow([safe_cell(row.get(c, "") or "") for c in CANVAS_STUDENT_COLUMNS]
                        + [f"{mine[n]:g}" if n in mine else "" for n in names])
    notes = []
    unmatched = sorted(set(scores) - known)
    if unmatched:
        notes.append(f"{len(unmatched)} graded student(s) are not in the roster {roster} (by {key!r}) and are not in "
                     f"the file: {', '.join(unmatched)}")
    absent = sorted(known - set(scores))
    if absent:
        notes.append(f"{len(absent)} roster student(s) have no graded submission (their cells are blank, which "
                     f"Canvas leaves ungraded): {', '.join(absent)}")
    new = [n for n in names if n not in titles]
    if new and titles:
        notes.append(f"not in the roster, so Canvas will create them as new assignments: {', '.join(new)}")
    if pending:
        notes.append(f"{len(pending)} student(s) have answers still to grade by hand (not in the scores): "
                     + ", ".join(sorted(pending)))
    missing = sorted(f"{s.student}/{s.key}" for s in subs if s.status == NOT_SUBMITTED)
    if missing:
        notes.append(f"{len(missing)} notebook(s) were not submitted with their assignment and count as 0 in the "
                     f"scores: {', '.join(missing)}")
    return buffer.getvalue(), notes
