"""Graded classes for the grader's tests: a class of students graded by ``grade.main`` in one call, what it
recorded and printed, and the checks every such test makes (the well-behaved student got full marks, nothing
was left running)."""

from __future__ import annotations

import contextlib
import gc
import io
import json
import re
import sqlite3
import sys
import time
from dataclasses import dataclass, field
from pathlib import Path

import nbformat
import psutil
import pytest
from nbformat.v4 import new_code_cell

import make_fixtures
from conftest import leftover_processes
from grader import grade
from grader.gradebook import Gradebook
from grader.results import SubmissionResult
from support.builders import toy_exercise, write

FILES = Path(__file__).resolve().parents[1] / "files"


TOY, PATCH = make_fixtures.TOY, make_fixtures.PATCH


TOY_TESTS = ["q1-public", "q1-hidden", "q2-clean"]


LEAK_GRACE = 2.0  # seconds a process may take to finish dying after grade.main returns


@dataclass
class Run:
    rc: int
    subs: Path
    book: Path
    results: dict = field(default_factory=dict)  # (student, exercise) -> SubmissionResult
    executed: dict = field(default_factory=dict)  # (student, exercise) -> executed notebook (dict) or None
    leaks: list = field(default_factory=list)  # "pid N: cmdline" of processes left behind (now killed)
    sleepers: dict = field(default_factory=dict)  # pid -> cmdline of `sleep 600` alive after the call
    output: str = ""
    unraisable: list = field(default_factory=list)  # objects the grader left to the garbage collector unclosed

    def r(self, student: str, exercise: str = TOY) -> SubmissionResult:
        if (student, exercise) not in self.results:
            pytest.fail(f"no result for {student}/{exercise}: grade.main returned {self.rc}, recorded "
                        f"{sorted(self.results)}; it printed:\n{self.output[-3000:]}")
        return self.results[(student, exercise)]

    def path(self, student: str, exercise: str = TOY) -> Path:
        return self.subs / student / f"{exercise}.ipynb"


def fixture(name: str) -> bytes:
    """A fixture's bytes; broken "notebooks" are stored as NAME.ipynb.broken, graded as NAME.ipynb."""
    path = FILES / f"{name}.ipynb"
    return (path if path.exists() else FILES / f"{name}.ipynb.broken").read_bytes()


def marked() -> dict[int, float]:
    found = {}
    for proc in leftover_processes(this_worker=True):
        try:
            found[proc.pid] = proc.create_time()
        except psutil.Error:
            continue
    return found


def reap_new(before: dict[int, float], grace: float = LEAK_GRACE) -> list[str]:
    """Processes carrying the marker that were not there ``before``; wait ``grace`` s, then kill them by PID."""
    def new():
        left = []
        for proc in leftover_processes(this_worker=True):
            try:
                if before.get(proc.pid) != proc.create_time():
                    left.append(proc)
            except psutil.Error:
                continue
        return left

    deadline = time.monotonic() + grace
    left = new()
    while left and time.monotonic() < deadline:
        time.sleep(0.1)
        left = new()
    described = []
    for proc in left:
        try:
            described.append(f"pid {proc.pid}: {' '.join(proc.cmdline())[:200]}")
            proc.kill()
        except psutil.Error:
            continue
    return described


def collect_unraisable() -> list[str]:
    """Collect garbage now and return what failed while being finalised (e.g. an unclosed socket's warning)."""
    caught = []
    old = sys.unraisablehook
    sys.unraisablehook = lambda u: caught.append(f"{getattr(u.exc_type, '__name__', u.exc_type)}: {u.exc_value}"[:300])
    try:
        gc.collect()
        gc.collect()
    finally:
        sys.unraisablehook = old
    return caught


def _sleepers() -> dict[int, str]:
    found = {}
    for proc in psutil.process_iter(["cmdline", "status"]):
        if proc.info["cmdline"] == ["sleep", "600"] and proc.info["status"] != psutil.STATUS_ZOMBIE:
            found[proc.pid] = " ".join(proc.info["cmdline"])
    return found


def make_source(dest: Path, exercises=(TOY,)) -> Path:
    write(toy_exercise(), dest / f"{TOY}.ipynb")
    if PATCH in exercises:
        write(make_fixtures.patch_exercise(), dest / f"{PATCH}.ipynb")
    return dest


def grade_class(tmp: Path, students: dict, *, exercises=(TOY,), source: Path | None = None,
                book: Path | None = None, capture: bool = True, **kwargs) -> Run:
    """Write ``students`` ({student: {exercise: bytes}}) under tmp/subs, grade them all in one call, read back.

    With ``capture``, what the grader prints goes to ``Run.output`` (for failure messages).
    """
    source = source or make_source(tmp / "source", exercises)
    subs, book = tmp / "subs", book or tmp / "gradebook.sqlite"
    for student, files in students.items():
        for exercise, data in files.items():
            path = subs / student / f"{exercise}.ipynb"
            path.parent.mkdir(parents=True, exist_ok=True)
            path.write_bytes(data)
    kwargs.setdefault("quiet", True)
    kwargs.setdefault("workers", 1)  # in order: z-good runs after the a-students, on a slot one of them used
    before = marked()
    printed = io.StringIO()
    try:
        with contextlib.ExitStack() as stack:
            if capture:
                stack.enter_context(contextlib.redirect_stdout(printed))
                stack.enter_context(contextlib.redirect_stderr(printed))
            rc = grade.main(submissions=subs, source=source, gradebook=book, **kwargs)
    finally:  # whatever happened: note what is left, then kill it (by PID)
        deadline = time.monotonic() + LEAK_GRACE
        while _sleepers() and time.monotonic() < deadline:
            time.sleep(0.1)
        sleepers = _sleepers()
        leaks = reap_new(before)
        unraisable = collect_unraisable()
    run = Run(rc, subs, book, leaks=leaks, sleepers=sleepers, output=printed.getvalue(), unraisable=unraisable)
    with Gradebook(book) as gb:
        for r in gb.submissions():
            run.results[(r.student, r.exercise)] = r
            text = gb.executed_notebook(r.student, r.exercise)
            run.executed[(r.student, r.exercise)] = json.loads(text) if text else None
    return run


def text_of(value) -> str:
    return "".join(value) if isinstance(value, list) else str(value or "")


def outputs(run: Run, student: str, exercise: str = TOY, where=lambda cell: True,
            kinds=("stream", "error", "display_data", "execute_result")) -> str:
    """What the executed notebook's cells (those ``where`` accepts) printed, displayed or raised (``kinds``)."""
    nb = run.executed.get((student, exercise))
    if not nb:
        return ""
    parts = []
    for cell in nb["cells"]:
        if cell.get("cell_type") != "code" or not where(cell):
            continue
        for out in cell.get("outputs", []):
            kind = out.get("output_type")
            if kind not in kinds:
                continue
            if kind == "stream":
                parts.append(text_of(out.get("text")))
            elif kind == "error":
                parts.append(f"{out.get('ename')}: {out.get('evalue')}\n" + "\n".join(out.get("traceback", [])))
            else:
                parts.extend(text_of(v) for k, v in out.get("data", {}).items() if k.startswith("text/"))
    return "\n".join(parts)


def gid_is(gid):
    return lambda cell: cell.get("metadata", {}).get("nbgrader", {}).get("grade_id") == gid


def statuses(result: SubmissionResult) -> dict[str, str]:
    return {t.test: t.status for t in result.tests}


def flag_mentions(result: SubmissionResult, gid: str) -> bool:
    """A flag names ``gid`` as a whole grade_id (``q2`` is not ``q2-clean``)."""
    pattern = re.compile(rf"(?<![\w-]){re.escape(gid)}(?![\w-])")
    return any(pattern.search(f) for f in result.flags)


def assert_good(run: Run, student: str = "z-good", exercise: str = TOY) -> None:
    r = run.r(student, exercise)
    assert r.status == "graded", r.message
    assert r.total == 5 and r.possible == 5, (r.tests, r.message, r.flags)
    assert all(t.status == "passed" for t in r.tests), r.tests


def assert_no_leaks(run: Run) -> None:
    assert not run.leaks, "processes left behind by grade.main (killed now):\n" + "\n".join(run.leaks)
    assert not run.unraisable, "grade.main left unclosed objects to the garbage collector:\n" + "\n".join(
        run.unraisable)


def students(*names: str, exercise: str = TOY, good: bool = True) -> dict:
    chosen = {f"a-{name}": {exercise: fixture(name)} for name in names}
    if good:
        chosen["z-good"] = {TOY: fixture("good")}
    return chosen


def rows(book: Path) -> int:
    if not book.exists():
        return 0
    try:
        with contextlib.closing(sqlite3.connect(f"file:{book}?mode=ro", uri=True, timeout=1)) as db:
            return db.execute("SELECT COUNT(*) FROM submissions").fetchone()[0]
    except sqlite3.Error:
        return 0


SLOW = 20  # seconds s2's and s3's notebooks sleep: a run is surely mid-way when s1 (quick) has been recorded


def slow_class(tmp_path: Path) -> tuple[Path, Path, Path]:
    """Three good students, s1 quick, s2 and s3 taking SLOW seconds more (graded in that order, so a run that has
    recorded one submission has the others still to finish, however slow the machine): (source, subs, book)."""
    source = make_source(tmp_path / "source")
    subs, book = tmp_path / "subs", tmp_path / "gradebook.sqlite"
    quick = nbformat.reads(fixture("good").decode(), as_version=4)
    slow = nbformat.reads(fixture("good").decode(), as_version=4)
    slow.cells.insert(5, new_code_cell(f"import time\ntime.sleep({SLOW})"))
    for student, nb in (("s1", quick), ("s2", slow), ("s3", slow)):
        write(nb, subs / student / f"{TOY}.ipynb")
    return source, subs, book
