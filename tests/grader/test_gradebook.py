"""grader.gradebook: a gradebook is laid out in one transaction, so whoever opens it meanwhile waits and finds it
whole; an old one (version 0) is rebuilt with the columns added since, its rows kept."""

import re
import sqlite3
import threading

from grader.gradebook import _ADDED, SCHEMA, VERSION, Gradebook


def test_a_gradebook_opened_while_another_lays_it_out_is_never_found_half_made(tmp_path):
    """A run writing a new gradebook while ``grader export`` (or a test watching the run) opens it: here eight
    openers of the same new file at once, again and again; none may take a half-made file for an old one."""
    errors = []
    for round_ in range(12):
        path = tmp_path / f"g{round_}.sqlite"
        start = threading.Barrier(8)

        def open_it(path=path, start=start):
            start.wait()
            try:
                Gradebook(path).close()
            except Exception as e:  # collected: a thread's exception would not fail the test
                errors.append(repr(e))

        threads = [threading.Thread(target=open_it) for _ in range(8)]
        for t in threads:
            t.start()
        for t in threads:
            t.join(60)
        with sqlite3.connect(path) as db:
            assert db.execute("PRAGMA user_version").fetchone()[0] == VERSION
    assert not errors, errors[:3]


def test_an_old_gradebook_is_rebuilt_with_the_new_columns_and_keeps_its_rows(tmp_path):
    path = tmp_path / "old.sqlite"
    old_schema = SCHEMA
    for columns in _ADDED.values():  # the tables as version 0 had them: without the columns added since
        for column in columns:
            old_schema = re.sub(rf"\n    {column} [^\n]*,", "", old_schema)
    old_schema = old_schema.replace("UNIQUE (student, assignment, exercise)", "UNIQUE (student, exercise)")
    with sqlite3.connect(path) as db:
        db.executescript(old_schema.split("CREATE TABLE IF NOT EXISTS manual")[0])
        db.execute("INSERT INTO submissions (id, student, exercise, path, checksum, status, points, max_points, "
                   "started, finished) VALUES (1, 'ada', '01-toy', 'x.ipynb', 'c', 'graded', 3, 5, 's', 'f')")
        db.execute("INSERT INTO tests (submission_id, student, exercise, test, points, max_points, status, position) "
                   "VALUES (1, 'ada', '01-toy', 'q1', 3, 5, 'passed', 0)")
    with Gradebook(path) as gb:
        (result,) = gb.submissions()
        assert (result.student, result.exercise, result.total, result.assignment) == ("ada", "01-toy", 3, "")
        assert [(t.test, t.points, t.kind) for t in result.tests] == [("q1", 3, "auto")]
    with sqlite3.connect(path) as db:
        assert db.execute("PRAGMA user_version").fetchone()[0] == VERSION
        assert not db.execute("SELECT name FROM sqlite_master WHERE name LIKE 'old_%'").fetchall()
