"""The SQLite gradebook: one row per submission, one per graded cell; each submission written in one transaction.

Scores given by hand live in their own table (``manual``), keyed by student, assignment, notebook and
cell, with the sha256 of the answer they were given for: regrading the tests keeps them, and a
changed answer goes back to "needs-grading".
"""

from __future__ import annotations

import contextlib
import fcntl
import hashlib
import json
import sqlite3
from pathlib import Path

from .results import BY_HAND, PENDING, SubmissionResult, TestResult

VERSION = 2  # PRAGMA user_version of the layout below (0/1: before assignments, kinds and manual grades)

SCHEMA = (Path(__file__).parent / "templates" / "gradebook.sql").read_text()  # the tables, as of VERSION

# Columns added to each table since version 0; a gradebook from then is rebuilt with them (its rows kept).
_ADDED = {
    "submissions": ("assignment", "submitted_at", "due", "late_policy"),
    "tests": ("assignment", "kind", "answer", "hidden"),
}


class GradebookError(RuntimeError):
    pass


@contextlib.contextmanager
def _first_open_lock(path: Path):
    """Hold the lock file beside the gradebook (``<name>.lock``) while a new or old gradebook is set up: the openers
    of a file that is not laid out yet, whichever process they are in, take turns."""
    with open(path.with_name(path.name + ".lock"), "a") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)  # released when the file closes
        yield


def answer_sha(text: str) -> str:
    return hashlib.sha256(text.encode("utf-8", "surrogatepass")).hexdigest()


class Gradebook:
    def __init__(self, path: str | Path):
        self.path = Path(path)
        if self.path.is_dir():
            raise GradebookError(f"{self.path} is a directory; pass --gradebook a file path such as gradebook.sqlite")
        self.path.parent.mkdir(parents=True, exist_ok=True)
        try:
            self.db = sqlite3.connect(self.path, timeout=30, check_same_thread=False)  # callers serialize
            if not self._laid_out():
                with _first_open_lock(self.path):  # the journal mode and the tables: one opener at a time
                    self.db.execute("PRAGMA journal_mode = WAL")
                    self._lay_out()
            self.db.execute("PRAGMA foreign_keys = ON")
        except sqlite3.DatabaseError as e:
            raise GradebookError(f"{self.path}: not a usable gradebook ({e}); pass another --gradebook") from e
        self.db.row_factory = sqlite3.Row

    def _laid_out(self) -> bool:
        """Whether the file has this version's tables and writes ahead (read without taking any lock)."""
        return (self.db.execute("PRAGMA user_version").fetchone()[0] >= VERSION
                and self.db.execute("PRAGMA journal_mode").fetchone()[0] == "wal")

    def _lay_out(self) -> None:
        """Give the file this version's tables (VERSION), in one transaction that other processes wait for.

        A new gradebook gets its tables; one written before assignments and manual grades (version 0 or 1) has its
        tables rebuilt with the columns added since, its rows kept.  The grader writes the gradebook while anyone
        may open it (``grader export`` in the middle of a run, a test watching a run): made one statement at a time,
        a new gradebook was seen with its submissions table and without its tests table, taken for an old one, and
        "migrated" into an error.  Under ``BEGIN IMMEDIATE`` an opener waits for the layout (up to the connection's
        timeout) and then finds it whole.  (The caller holds :func:`_first_open_lock`: SQLite answers "database is
        locked" at once, not after its timeout, to one of two connections that both turn a new file to WAL and lay
        it out.)"""
        if self.db.execute("PRAGMA user_version").fetchone()[0] >= VERSION:
            return  # laid out already: nothing to write, no lock to take
        db, level = self.db, self.db.isolation_level
        db.execute("PRAGMA foreign_keys = OFF")  # (no effect inside a transaction) the rename below moves references
        db.isolation_level = None  # the BEGIN and COMMIT below are the transaction
        try:
            db.execute("BEGIN IMMEDIATE")  # another process laying the file out holds this: wait for it
            try:
                if db.execute("PRAGMA user_version").fetchone()[0] < VERSION:  # again: it may be done now
                    tables = {r[0] for r in db.execute("SELECT name FROM sqlite_master WHERE type = 'table'")}
                    old = [t for t in ("tests", "submissions") if t in tables and "submissions" in tables]
                    for table in old:
                        db.execute(f"ALTER TABLE {table} RENAME TO old_{table}")
                    for statement in filter(str.strip, SCHEMA.split(";")):  # (no ";" in the file but between them)
                        db.execute(statement)
                    for table in reversed(old):
                        kept = [r[1] for r in db.execute(f"PRAGMA table_info(old_{table})")]
                        cols = ", ".join(c for c in kept if c not in _ADDED[table])
                        db.execute(f"INSERT INTO {table} ({cols}) SELECT {cols} FROM old_{table}")
                    for table in old:
                        db.execute(f"DROP TABLE old_{table}")
                    db.execute(f"PRAGMA user_version = {VERSION}")
                db.execute("COMMIT")
            except BaseException:
                db.execute("ROLLBACK")
                raise
        finally:
            db.isolation_level = level

    def close(self) -> None:
        self.db.close()

    def __enter__(self) -> Gradebook:
        return self

    def __exit__(self, *exc) -> None:
        self.close()

    def checksum_of(self, student: str, exercise: str, assignment: str = "") -> str | None:
        row = self.db.execute(
            "SELECT checksum FROM submissions WHERE student = ? AND assignment = ? AND exercise = ?",
            (student, assignment, exercise)).fetchone()
        return row["checksum"] if row else None

    def record(self, result: SubmissionResult, executed_nb: str | None = None) -> None:
        """Replace whatever the gradebook had for this student, assignment and exercise, atomically
        (scores given by hand stay in their own table)."""
        with self.db:
            self.db.execute("DELETE FROM submissions WHERE student = ? AND assignment = ? AND exercise = ?",
                            (result.student, result.assignment, result.exercise))
            cur = self.db.execute(
                "INSERT INTO submissions (student, assignment, exercise, path, checksum, status, message, flags,"
                " points, max_points, started, finished, executed_nb, submitted_at, due, late_policy)"
                " VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
                (result.student, result.assignment, result.exercise, result.path, result.checksum, result.status,
                 result.message, json.dumps(result.flags), result.total, result.possible, result.started,
                 result.finished, executed_nb, result.submitted_at, result.due, result.late_policy),
            )
            self.db.executemany(
                "INSERT INTO tests (submission_id, student, assignment, exercise, test, points, max_points, status,"
                " message, position, kind, answer, hidden) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
                [(cur.lastrowid, result.student, result.assignment, result.exercise, t.test, t.points, t.max_points,
                  t.status, t.message, i, t.kind, t.answer, int(t.hidden)) for i, t in enumerate(result.tests)],
            )

    def submissions(self, student: str | None = None, assignment: str | None = None) -> list[SubmissionResult]:
        where, args = [], []
        if student is not None:
            where.append("student = ?")
            args.append(student)
        if assignment is not None:
            where.append("assignment = ?")
            args.append(assignment)
        query = ("SELECT * FROM submissions" + (" WHERE " + " AND ".join(where) if where else "")
                 + " ORDER BY student, assignment, exercise")
        return [self._result(row) for row in self.db.execute(query, args).fetchall()]

    def _result(self, row) -> SubmissionResult:
        manual = {r["test"]: r for r in self.db.execute(
            "SELECT * FROM manual WHERE student = ? AND assignment = ? AND exercise = ?",
            (row["student"], row["assignment"], row["exercise"]))}
        tests = []
        for t in self.db.execute("SELECT * FROM tests WHERE submission_id = ? ORDER BY position", (row["id"],)):
            result = TestResult(t["test"], t["points"], t["max_points"], t["status"], t["message"], t["kind"],
                                t["answer"], hidden=bool(t["hidden"]))
            given = manual.get(result.test)
            if result.kind != "auto" and given is not None and result.status in (PENDING, BY_HAND):
                if given["answer_sha"] == answer_sha(result.answer):
                    result.points, result.status, result.comment = given["points"], BY_HAND, given["comment"]
                else:
                    result.message = "the answer changed since it was graded by hand; grade it again"
            tests.append(result)
        return SubmissionResult(
            student=row["student"], exercise=row["exercise"], path=row["path"], checksum=row["checksum"],
            tests=tests, status=row["status"], message=row["message"], flags=json.loads(row["flags"]),
            max_points=row["max_points"], started=row["started"], finished=row["finished"],
            assignment=row["assignment"], submitted_at=row["submitted_at"], due=row["due"],
            late_policy=row["late_policy"],
        )

    def record_manual(self, grades: list[dict]) -> None:
        """Scores given by hand, all or none: dicts of student, assignment, exercise, test, points, comment,
        answer_sha, graded_at (validated by the caller)."""
        with self.db:
            self.db.executemany(
                "INSERT OR REPLACE INTO manual (student, assignment, exercise, test, points, comment, answer_sha,"
                " graded_at) VALUES (:student, :assignment, :exercise, :test, :points, :comment, :answer_sha,"
                " :graded_at)", grades)

    def executed_notebook(self, student: str, exercise: str, assignment: str = "") -> str | None:
        row = self.db.execute(
            "SELECT executed_nb FROM submissions WHERE student = ? AND assignment = ? AND exercise = ?",
            (student, assignment, exercise)).fetchone()
        return row["executed_nb"] if row else None
