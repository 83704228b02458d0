"""``grader manual``: grade by hand without a server, through a CSV file.

``grader manual export -o FILE`` writes one row per answer still to grade (``--all``: every answer graded by
hand, with what was given); the instructor fills in ``points`` (and ``comment``) in any spreadsheet;
``grader manual import FILE`` checks every row against the gradebook and records them all, or none.
"""

from __future__ import annotations

import csv
import io
import sys
from pathlib import Path

from .export import open_csv, safe_cell, unsafe_cell
from .gradebook import Gradebook, GradebookError, answer_sha
from .results import BY_HAND, PENDING, TestResult

COLUMNS = ["student", "assignment", "notebook", "cell", "kind", "points_possible", "answer", "points", "comment",
           "answer_sha256"]


class ManualError(ValueError):
    pass


def now() -> str:
    from datetime import UTC, datetime

    return datetime.now(UTC).isoformat(timespec="seconds")


def _answers(book: Gradebook, every: bool):
    for sub in book.submissions():
        for t in sub.tests:
            if t.kind != "auto" and (t.status == PENDING or every and t.status == BY_HAND):
                yield sub, t


def export_main(*, gradebook: str | Path = "gradebook.sqlite", output: str | Path | None = None,
                all: bool = False) -> int:  # the CLI's --all
    if not Path(gradebook).is_file():
        print(f"grader manual export: {gradebook}: no gradebook here; run `grader grade` first or pass --gradebook",
              file=sys.stderr)
        return 2
    buffer = io.StringIO()
    writer = csv.DictWriter(buffer, fieldnames=COLUMNS, lineterminator="\n")
    writer.writeheader()
    count = 0
    with Gradebook(gradebook) as book:
        for sub, t in _answers(book, all):
            given = t.status == BY_HAND
            writer.writerow({k: safe_cell(v) for k, v in {
                "student": sub.student, "assignment": sub.assignment, "notebook": sub.exercise, "cell": t.test,
                "kind": t.kind, "points_possible": f"{t.max_points:g}", "answer": t.answer,
                "points": f"{t.points:g}" if given else "", "comment": t.comment if given else "",
                "answer_sha256": answer_sha(t.answer)}.items()})
            count += 1
    if output:
        Path(output).write_text(buffer.getvalue(), encoding="utf-8")
        print(f"wrote {count} answer(s) to grade by hand to {output}: fill in points (and comment), then "
              f"grader manual import {output}", file=sys.stderr)
    else:
        sys.stdout.write(buffer.getvalue())
    return 0


def read_grades(path: Path, book: Gradebook) -> list[dict]:
    """The filled-in rows of ``path``, checked against ``book``; ManualError naming every bad row."""
    reader = open_csv(path, ManualError, "pass the CSV file `grader manual export` wrote")
    missing = {"student", "assignment", "notebook", "cell", "points"} - set(reader.fieldnames or [])
    if missing:
        raise ManualError(f"{path}: missing column(s) {', '.join(sorted(missing))}; keep the header row "
                          "`grader manual export` wrote")
    answers: dict[tuple[str, ...], TestResult] = {  # by (student, assignment, notebook, cell)
        (s.student, s.assignment, s.exercise, t.test): t for s in book.submissions() for t in s.tests
        if t.kind != "auto"}
    grades, problems, seen = [], [], set()
    for line, row in enumerate(reader, start=2):
        key = tuple(unsafe_cell((row.get(k) or "").strip()) for k in ("student", "assignment", "notebook", "cell"))
        raw = (row.get("points") or "").strip()
        if not raw:
            continue  # not graded yet: stays pending
        where = f"line {line} ({'/'.join(k for k in key if k)})"
        answer = answers.get(key)
        if answer is None:
            problems.append(f"{where}: the gradebook has no answer graded by hand of that student, assignment, "
                            "notebook and cell")
            continue
        if key in seen:
            problems.append(f"{where}: the same answer appears twice")
            continue
        seen.add(key)
        try:
            points = float(raw)
        except ValueError:
            problems.append(f"{where}: points {raw!r} is not a number")
            continue
        if not 0 <= points <= answer.max_points:
            problems.append(f"{where}: points {points:g} out of range (0 to {answer.max_points:g})")
            continue
        sha = (row.get("answer_sha256") or "").strip()
        if sha and sha != answer_sha(answer.answer):
            problems.append(f"{where}: the answer changed since this file was exported (the student submitted "
                            "again); export again and grade the new answer")
            continue
        grades.append({"student": key[0], "assignment": key[1], "exercise": key[2], "test": key[3],
                       "points": points, "comment": unsafe_cell(row.get("comment") or ""),
                       "answer_sha": answer_sha(answer.answer), "graded_at": now()})
    if problems:
        shown = problems[:20] + ([f"... and {len(problems) - 20} more"] if len(problems) > 20 else [])
        raise ManualError(f"{path}: nothing was imported; {len(problems)} row(s) to fix:\n  " + "\n  ".join(shown))
    return grades


def import_main(*, file: str | Path, gradebook: str | Path = "gradebook.sqlite") -> int:
    if not Path(gradebook).is_file():
        print(f"grader manual import: {gradebook}: no gradebook here; run `grader grade` first or pass --gradebook",
              file=sys.stderr)
        return 2
    try:
        with Gradebook(gradebook) as book:
            grades = read_grades(Path(file), book)
            book.record_manual(grades)
            left = sum(1 for _ in _answers(book, False))
    except (ManualError, GradebookError) as e:
        print(f"grader manual import: {e}", file=sys.stderr)
        return 2
    print(f"recorded {len(grades)} score(s) given by hand; {left} answer(s) still to grade")
    return 0
