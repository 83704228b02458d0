"""The SQLite gradebook: one row per submission, one per test; each submission written in one transaction."""

from __future__ import annotations

import json
import sqlite3
from pathlib import Path

from .results import SubmissionResult, TestResult

SCHEMA = """
CREATE TABLE IF NOT EXISTS submissions (
    id INTEGER PRIMARY KEY,
    student TEXT NOT NULL,
    exercise TEXT NOT NULL,
    path TEXT NOT NULL,
    checksum TEXT NOT NULL,
    status TEXT NOT NULL,
    message TEXT NOT NULL DEFAULT '',
    flags TEXT NOT NULL DEFAULT '[]',
    points REAL NOT NULL,
    max_points REAL NOT NULL,
    started TEXT NOT NULL,
    finished TEXT NOT NULL,
    executed_nb TEXT,
    UNIQUE (student, exercise)
);
CREATE TABLE IF NOT EXISTS tests (
    submission_id INTEGER NOT NULL REFERENCES submissions(id) ON DELETE CASCADE,
    student TEXT NOT NULL,
    exercise TEXT NOT NULL,
    test TEXT NOT NULL,
    points REAL NOT NULL,
    max_points REAL NOT NULL,
    status TEXT NOT NULL,
    message TEXT NOT NULL DEFAULT '',
    position INTEGER NOT NULL,
    PRIMARY KEY (submission_id, test)
);
"""


class GradebookError(RuntimeError):
    pass


class Gradebook:
    def __init__(self, path: str | Path):
        self.path = Path(path)
        if self.path.is_dir():
            raise GradebookError(f"{self.path} is a directory; pass --gradebook a file path such as gradebook.sqlite")
        self.path.parent.mkdir(parents=True, exist_ok=True)
        try:
            self.db = sqlite3.connect(self.path, timeout=30, check_same_thread=False)  # callers serialize
            self.db.execute("PRAGMA foreign_keys = ON")
            self.db.execute("PRAGMA journal_mode = WAL")
            self.db.executescript(SCHEMA)
        except sqlite3.DatabaseError as e:
            raise GradebookError(f"{self.path}: not a usable gradebook ({e}); pass another --gradebook") from e
        self.db.row_factory = sqlite3.Row

    def close(self) -> None:
        self.db.close()

    def __enter__(self) -> "Gradebook":
        return self

    def __exit__(self, *exc) -> None:
        self.close()

    def checksum_of(self, student: str, exercise: str) -> str | None:
        row = self.db.execute(
            "SELECT checksum FROM submissions WHERE student = ? AND exercise = ?", (student, exercise)
        ).fetchone()
        return row["checksum"] if row else None

    def record(self, result: SubmissionResult, executed_nb: str | None = None) -> None:
        """Replace whatever the gradebook had for this student and exercise, atomically."""
        with self.db:
            self.db.execute("DELETE FROM submissions WHERE student = ? AND exercise = ?",
                            (result.student, result.exercise))
            cur = self.db.execute(
                "INSERT INTO submissions (student, exercise, path, checksum, status, message, flags, points,"
                " max_points, started, finished, executed_nb) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
                (result.student, result.exercise, result.path, result.checksum, result.status, result.message,
                 json.dumps(result.flags), result.total, result.possible, result.started, result.finished,
                 executed_nb),
            )
            self.db.executemany(
                "INSERT INTO tests (submission_id, student, exercise, test, points, max_points, status, message,"
                " position) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)",
                [(cur.lastrowid, result.student, result.exercise, t.test, t.points, t.max_points, t.status,
                  t.message, i) for i, t in enumerate(result.tests)],
            )

    def submissions(self, student: str | None = None) -> list[SubmissionResult]:
        query = "SELECT * FROM submissions" + (" WHERE student = ?" if student else "") + " ORDER BY student, exercise"
        rows = self.db.execute(query, (student,) if student else ()).fetchall()
        return [self._result(row) for row in rows]

    def _result(self, row) -> SubmissionResult:
        tests = [
            TestResult(t["test"], t["points"], t["max_points"], t["status"], t["message"])
            for t in self.db.execute("SELECT * FROM tests WHERE submission_id = ? ORDER BY position", (row["id"],))
        ]
        return SubmissionResult(
            student=row["student"], exercise=row["exercise"], path=row["path"], checksum=row["checksum"],
            tests=tests, status=row["status"], message=row["message"], flags=json.loads(row["flags"]),
            max_points=row["max_points"], started=row["started"], finished=row["finished"],
        )

    def executed_notebook(self, student: str, exercise: str) -> str | None:
        row = self.db.execute(
            "SELECT executed_nb FROM submissions WHERE student = ? AND exercise = ?", (student, exercise)
        ).fetchone()
        return row["executed_nb"] if row else None
