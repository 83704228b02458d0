CREATE TABLE IF NOT EXISTS submissions (
    id INTEGER PRIMARY KEY,
    student TEXT NOT NULL,
    assignment TEXT NOT NULL DEFAULT '',
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
    submitted_at TEXT NOT NULL DEFAULT '',
    due TEXT NOT NULL DEFAULT '',
    late_policy TEXT NOT NULL DEFAULT '',
    UNIQUE (student, assignment, exercise)
);
CREATE TABLE IF NOT EXISTS tests (
    submission_id INTEGER NOT NULL REFERENCES submissions(id) ON DELETE CASCADE,
    student TEXT NOT NULL,
    assignment TEXT NOT NULL DEFAULT '',
    exercise TEXT NOT NULL,
    test TEXT NOT NULL,
    points REAL NOT NULL,
    max_points REAL NOT NULL,
    status TEXT NOT NULL,
    message TEXT NOT NULL DEFAULT '',
    position INTEGER NOT NULL,
    kind TEXT NOT NULL DEFAULT 'auto',
    answer TEXT NOT NULL DEFAULT '',
    hidden INTEGER NOT NULL DEFAULT 0,
    PRIMARY KEY (submission_id, test)
);
CREATE TABLE IF NOT EXISTS manual (
    student TEXT NOT NULL,
    assignment TEXT NOT NULL,
    exercise TEXT NOT NULL,
    test TEXT NOT NULL,
    points REAL NOT NULL,
    comment TEXT NOT NULL DEFAULT '',
    answer_sha TEXT NOT NULL,
    graded_at TEXT NOT NULL,
    PRIMARY KEY (student, assignment, exercise, test)
);
