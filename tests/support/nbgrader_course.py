"""A small nbgrader course, run through the REAL nbgrader CLI, and what nbgrader concluded about it.

The course (``course_id`` "c1", one assignment "ps1" with two notebooks) lives in nbgrader's own layout::

    <base>/course/                    the instructor's course directory (``CourseDirectory.root``)
        nbgrader_config.py
        gradebook.db                  nbgrader's gradebook (sqlite)
        source/ps1/problem{1,2}.ipynb
        release/ps1/...               written by ``nbgrader generate_assignment``
        submitted/<student>/ps1/...   written by ``nbgrader collect``
        autograded/<student>/ps1/...  written by ``nbgrader autograde``
    <base>/exchange/c1/{outbound,inbound}/   nbgrader's exchange (``Exchange.root`` = <base>/exchange)
    <base>/homes/<student>/ps1/       what each student fetched, edited and submitted
    <base>/.home/<user>/              the HOME of each nbgrader run (jupyter config/data/cache dirs)

Typical use::

    course = tmp_path / "course"
    info = write_source(course, penalty_method="zero")
    run_class(course, STUDENTS, submitted_at=SUBMITTED_AT)
    results = nbgrader_results(course)

The cell metadata is written exactly as the create-assignment toolbar of nbgrader 0.9 (JupyterLab)
writes it: keys ``grade``, ``grade_id``, ``locked``, ``points`` (only for graded and task cells),
``schema_version`` (3), ``solution``, ``task``; tests and task cells are ``locked``, solution cells not.
"""

from __future__ import annotations

import atexit
import contextlib
import json
import os
import select
import shutil
import signal
import subprocess
import sys
import tempfile
from collections.abc import Callable, Iterator
from pathlib import Path

import nbformat
from nbformat.v4 import new_code_cell, new_markdown_cell, new_notebook

ASSIGNMENT = "ps1"
COURSE_ID = "c1"
DUE = "2026-01-10 12:00:00 UTC"
ON_TIME = "2026-01-10 11:00:00.000000 UTC"  # nbgrader's timestamp format ("%Y-%m-%d %H:%M:%S.%f %Z")
LATE = "2026-01-10 13:30:00.000000 UTC"  # 1.5 h after DUE
SUBMITTED_AT = {"erin": LATE}

BIN = Path(sys.executable).parent
# The venv's ``nbgrader`` command is ``sys.exit(nbgrader.apps.nbgraderapp.main())``; run the same, after skipping
# the one format checker of jsonschema's that costs a second of CPU per start and checks a format no schema of
# nbgrader's uses (course/startup.py says why): a course's run starts nbgrader some twenty times.
NBGRADER = [sys.executable, "-c", "import sys; from course.startup import skip_slow_format_checkers as skip; skip(); "
            "from nbgrader.apps.nbgraderapp import main; sys.exit(main())"]

# --- the source notebooks -------------------------------------------------------------------------------------


def _meta(kind: str, grade_id: str, points: float | None = None) -> dict:
    """nbgrader metadata as the create-assignment toolbar writes it for a cell type of the drop-down."""
    grade = kind in ("manual", "tests")
    solution = kind in ("manual", "solution")
    task = kind == "task"
    locked = not solution and (grade or task or kind == "readonly")
    md = {"grade": grade, "grade_id": grade_id, "locked": locked}
    if grade or task:
        md["points"] = points
    md.update({"schema_version": 3, "solution": solution, "task": task})
    return md


def _cell(cell_type: str, source: str, kind: str | None = None, grade_id: str = "", points=None):
    cell = new_code_cell(source) if cell_type == "code" else new_markdown_cell(source)
    if kind:
        cell.metadata["nbgrader"] = _meta(kind, grade_id, points)
    return cell


def _notebook(cells) -> nbformat.NotebookNode:
    nb = new_notebook(cells=cells)
    nb.metadata["kernelspec"] = {"display_name": "Python 3", "language": "python", "name": "python3"}
    nb.metadata["language_info"] = {"name": "python"}
    return nb


MODEL_MD_ANSWER = "The squares grow quadratically: doubling n multiplies the last square by four."

PROBLEM1 = [
    _cell("markdown", "# Problem 1: squares\n\nWrite `squares(n)` returning `[1, 4, ..., n**2]`.",
          "readonly", "intro"),
    _cell("code", "def squares(n):\n    \"\"\"Return the squares of 1..n.\"\"\"\n"
                  "    ### BEGIN SOLUTION\n    return [i * i for i in range(1, n + 1)]\n    ### END SOLUTION",
          "solution", "squares"),
    _cell("code", "assert squares(1) == [1]\nassert squares(3) == [1, 4, 9]\n"
                  "### BEGIN HIDDEN TESTS\nassert squares(0) == []\nassert squares(5)[-1] == 25\n"
                  "### END HIDDEN TESTS",
          "tests", "test_squares", 2),
    _cell("code", "assert isinstance(squares(4), list)\nassert sum(squares(3)) == 14", "tests", "test_squares_type", 1),
    _cell("markdown", MODEL_MD_ANSWER, "manual", "explain", 3),
    _cell("code", "def sum_of_squares(n):\n    ### BEGIN SOLUTION\n    return sum(squares(n))\n    ### END SOLUTION",
          "manual", "sum_code", 2),
]

TASK_TEXT = ("## Task\n\nIn cells you add below this one, print the cubes of 1..5 and say in a "
             "markdown cell what you notice.")

PROBLEM2 = [
    _cell("markdown", TASK_TEXT, "task", "task_cubes", 4),
    # no BEGIN/END SOLUTION markers: nbgrader's release replaces the whole cell by the code stub
    _cell("code", "def cube(x):\n    return x ** 3", "solution", "cube"),
    _cell("code", "assert cube(2) == 8\nassert cube(-3) == -27", "tests", "test_cube", 3),
]

EXPECTED = {
    "assignment": ASSIGNMENT,
    "notebooks": {
        "problem1": {
            "test_squares": {"points": 2, "kind": "auto"},
            "test_squares_type": {"points": 1, "kind": "auto"},
            "explain": {"points": 3, "kind": "manual"},
            "sum_code": {"points": 2, "kind": "manual"},
        },
        "problem2": {
            "task_cubes": {"points": 4, "kind": "task"},
            "test_cube": {"points": 3, "kind": "auto"},
        },
    },
}


def _base(course: Path) -> Path:
    return Path(course).resolve().parent


def write_source(course: Path, penalty_method: str = "none") -> dict:
    """Write ``course/source/ps1/problem{1,2}.ipynb`` and ``course/nbgrader_config.py``.

    ``penalty_method`` is nbgrader's ``LateSubmissionPlugin.penalty_method`` ("none" or "zero").
    Returns {"assignment": "ps1", "notebooks": {notebook: {grade_id: {"points": p, "kind": "auto"|"manual"|"task"}}}}.
    """
    write_assignment(course, ASSIGNMENT, {"problem1": PROBLEM1, "problem2": PROBLEM2})
    write_config(course, penalty_method)
    return {"assignment": ASSIGNMENT,
            "notebooks": {nb: {k: dict(v) for k, v in cells.items()} for nb, cells in EXPECTED["notebooks"].items()}}


def write_assignment(course: Path, assignment: str, notebooks: dict[str, list], files: dict[str, str] | None = None):
    """Write ``course/source/<assignment>/<name>.ipynb`` for each list of cells of ``notebooks``, and ``files``
    (path below the assignment's folder -> text) beside them."""
    src = Path(course).resolve() / "source" / assignment
    src.mkdir(parents=True, exist_ok=True)
    for name, cells in notebooks.items():
        nbformat.write(_notebook(cells), src / f"{name}.ipynb")
    for name, text in (files or {}).items():
        (src / name).parent.mkdir(parents=True, exist_ok=True)
        (src / name).write_text(text)


def write_config(course: Path, penalty_method: str = "none") -> None:
    """``course/nbgrader_config.py``, and the exchange it names."""
    course = Path(course).resolve()
    course.mkdir(parents=True, exist_ok=True)
    exchange = _base(course) / "exchange"
    exchange.mkdir(parents=True, exist_ok=True)
    exchange.chmod(0o777)
    (course / "nbgrader_config.py").write_text(
        "c = get_config()  # noqa: F821\n"
        f"c.CourseDirectory.course_id = {COURSE_ID!r}\n"
        f"c.CourseDirectory.root = {str(course)!r}\n"
        f"c.CourseDirectory.db_url = {'sqlite:///' + str(course / 'gradebook.db')!r}\n"
        f"c.Exchange.root = {str(exchange)!r}\n"
        "c.Exchange.timezone = 'UTC'\n"
        f"c.LateSubmissionPlugin.penalty_method = {penalty_method!r}\n"
        "c.ExecutePreprocessor.timeout = 60\n"
        "c.CollectApp.check_owner = False  # every student is root here\n"
    )
    _empty_gradebook(course)


_EMPTY_GRADEBOOK: list[Path] = []  # this process's copy of nbgrader's empty gradebook of COURSE_ID


def _empty_gradebook(course: Path) -> None:
    """Give ``course`` nbgrader's empty gradebook (its tables, its migration stamp, the course's row): nbgrader makes
    it for the first course of this process, the others get a copy.  nbgrader stamps a new gradebook by running
    ``alembic heads`` in a process of its own, about 3 CPU s each time, and every course here would make one."""
    if _EMPTY_GRADEBOOK:
        shutil.copyfile(_EMPTY_GRADEBOOK[0], course / "gradebook.db")
        return
    nbgrader(course, "db", "student", "list")
    keep = Path(tempfile.mkdtemp(prefix="nbgrader-empty-gradebook-"))
    atexit.register(shutil.rmtree, keep, True)
    shutil.copyfile(course / "gradebook.db", keep / "gradebook.db")
    _EMPTY_GRADEBOOK.append(keep / "gradebook.db")


# --- running nbgrader --------------------------------------------------------------------------------------------


class NbgraderError(RuntimeError):
    pass


def nbgrader(course: Path, *args, user: str | None = None, cwd: Path | None = None,
             env: dict | None = None) -> subprocess.CompletedProcess:
    """Run nbgrader (:data:`NBGRADER`) with ``*args`` and the course's config; raise NbgraderError with its output
    on failure.

    Instructor commands (``user`` None) run in ``course``. Student commands (``user`` given) run in
    ``<base>/homes/<user>`` (the student's assignment dir) with USER/LOGNAME = user and
    ``--course-dir=<course>`` so the course's config (course id, exchange root) is loaded; ``submit`` also
    gets ``--student=<user>`` because nbgrader takes the submitter from the OS account (pwd), not from $USER.
    Every run has its own HOME (``<base>/.home/<user or 'instructor'>``), the venv's bin first on PATH
    (so the python3 kernel is the venv's ipykernel), and no inherited JUPYTER_* dirs.
    """
    course = Path(course).resolve()
    base = _base(course)
    who = user or "instructor"
    home = base / ".home" / who
    home.mkdir(parents=True, exist_ok=True)
    args = [str(a) for a in args]
    if user is not None:
        if cwd is None:
            cwd = base / "homes" / user
        if not any(a.startswith(("--course-dir", "--CourseDirectory.root")) for a in args):
            args.append(f"--course-dir={course}")
        if args and args[0] == "submit" and not any(a.startswith("--student") for a in args):
            args.append(f"--student={user}")
    cwd = Path(cwd) if cwd is not None else course
    cwd.mkdir(parents=True, exist_ok=True)
    e = {k: v for k, v in os.environ.items()
         if not k.startswith(("JUPYTER_", "JPY_", "IPYTHONDIR")) and k not in ("PYTHONPATH", "VIRTUAL_ENV")}
    e.update(HOME=str(home), PATH=f"{BIN}{os.pathsep}{os.environ.get('PATH', '/usr/bin:/bin')}",
             PYTHONNOUSERSITE="1", JUPYTER_PLATFORM_DIRS="0", IPYTHONDIR=str(home / ".ipython"))
    if user is not None:
        e.update(USER=user, LOGNAME=user)
    if env:
        e.update(env)
    if _FORKS:
        proc = _FORKS[0].run(args, env=e, cwd=cwd, timeout=300)
    else:
        proc = subprocess.run([*NBGRADER, *args], cwd=cwd, env=e, capture_output=True, text=True, timeout=300)
    if proc.returncode != 0:
        raise NbgraderError(f"nbgrader {' '.join(args)} (as {who}, in {cwd}) failed with {proc.returncode}:\n"
                            f"--- stdout ---\n{proc.stdout}\n--- stderr ---\n{proc.stderr}")
    return proc


class _Forks:
    """The process of support/nbgrader_forks.py: nbgrader imported once, each command run in a fork of it."""

    def __init__(self) -> None:
        self.proc = subprocess.Popen([sys.executable, str(Path(__file__).with_name("nbgrader_forks.py"))],
                                     stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True, start_new_session=True)
        self.scratch = Path(tempfile.mkdtemp(prefix="nbgrader-forks-"))

    def run(self, args: list[str], *, env: dict, cwd: Path, timeout: float) -> subprocess.CompletedProcess:
        out, err = self.scratch / "stdout", self.scratch / "stderr"
        job = {"args": args, "env": env, "cwd": str(cwd), "stdout": str(out), "stderr": str(err)}
        assert self.proc.stdin is not None and self.proc.stdout is not None
        self.proc.stdin.write(json.dumps(job) + "\n")
        self.proc.stdin.flush()
        if not select.select([self.proc.stdout], [], [], timeout)[0]:
            self.close()
            raise subprocess.TimeoutExpired(["nbgrader", *args], timeout)
        answer = self.proc.stdout.readline()
        if not answer:
            raise NbgraderError(f"nbgrader {' '.join(args)}: the process running nbgrader's commands ended "
                                f"(exit code {self.proc.wait()})")
        return subprocess.CompletedProcess(["nbgrader", *args], json.loads(answer)["returncode"],
                                           out.read_text(errors="replace"), err.read_text(errors="replace"))

    def close(self) -> None:
        """End it (at the end of its input), and what it still runs, by its process group."""
        if self.proc.stdin is not None:
            self.proc.stdin.close()
        try:
            self.proc.wait(timeout=10)
        except subprocess.TimeoutExpired:
            pass
        with contextlib.suppress(ProcessLookupError):
            os.killpg(self.proc.pid, signal.SIGKILL)
        self.proc.wait()
        if self.proc.stdout is not None:
            self.proc.stdout.close()
        shutil.rmtree(self.scratch, ignore_errors=True)


_FORKS: list[_Forks] = []  # the one nbgrader() runs its commands in, while nbgrader_forks() is open


@contextlib.contextmanager
def nbgrader_forks() -> Iterator[None]:
    """While open, :func:`nbgrader` runs each command in a fork of one process that imported nbgrader (the same
    entry point the ``nbgrader`` script calls), not in a new interpreter: some 1.3 CPU s of imports saved each time."""
    forks = _Forks()
    _FORKS.append(forks)
    try:
        yield
    finally:
        _FORKS.remove(forks)
        forks.close()


def run_class(course: Path, students: dict[str, Callable[[Path], None]], due: str = DUE,
              submitted_at: dict[str, str] | None = None, default_submitted_at: str | None = ON_TIME,
              assignment: str = ASSIGNMENT) -> None:
    """Create, release, fetch, edit, submit, collect and autograde ``assignment`` with real nbgrader.

    ``students`` maps a student id to a callable that edits the fetched ``<base>/homes/<student>/<assignment>/``.
    After ``collect``, each ``course/submitted/<student>/<assignment>/timestamp.txt`` is rewritten to
    ``submitted_at[student]``, else to ``default_submitted_at`` (None keeps nbgrader's real "now", which
    is after ``due`` once that date has passed), so lateness is under the caller's control.
    """
    course = Path(course).resolve()
    base = _base(course)
    submitted_at = submitted_at or {}
    nbgrader(course, "db", "assignment", "add", assignment, f"--duedate={due}")
    nbgrader(course, "generate_assignment", assignment, "--force")
    nbgrader(course, "release_assignment", assignment, "--force")
    roster = base / f"{assignment}-students.csv"  # the class list, as an instructor imports it from the LMS
    roster.write_text("id\n" + "".join(f"{student}\n" for student in students))
    nbgrader(course, "db", "student", "import", roster)
    for student, edit in students.items():
        nbgrader(course, "fetch_assignment", assignment, user=student)
        edit(base / "homes" / student / assignment)
        nbgrader(course, "submit", assignment, user=student)
    nbgrader(course, "collect", assignment, "--update")
    for student in students:
        stamp = submitted_at.get(student, default_submitted_at)
        if stamp is not None:
            (course / "submitted" / student / assignment / "timestamp.txt").write_text(stamp)
    nbgrader(course, "autograde", assignment, "--force")


# --- what nbgrader concluded --------------------------------------------------------------------------------------


def _db_url(course: Path) -> str:
    return "sqlite:///" + str(Path(course).resolve() / "gradebook.db")


def nbgrader_results(course: Path, assignment: str = ASSIGNMENT) -> dict:
    """{(student, notebook): {"auto": {grade_id: auto_score|None}, "max": {grade_id: max_score},
    "needs_manual": {grade_id: bool}, "score": ..., "late_penalty": penalty or 0, "max_score": ...}}
    for every notebook of every submission of ``assignment`` (a notebook the student did not hand in too),
    read from nbgrader's gradebook."""
    from nbgrader.api import Gradebook

    out = {}
    with Gradebook(_db_url(course), COURSE_ID) as gb:
        for sub in gb.assignment_submissions(assignment):
            for nb in sub.notebooks:
                out[(sub.student.id, nb.name)] = {
                    "auto": {g.name: g.auto_score for g in nb.grades},
                    "max": {g.name: g.max_score for g in nb.grades},
                    "needs_manual": {g.name: bool(g.needs_manual_grade) for g in nb.grades},
                    "score": nb.score,
                    "late_penalty": nb.late_submission_penalty or 0,
                    "max_score": nb.max_score,
                }
    return out


def set_manual(course: Path, student: str, notebook: str, grade_id: str, points: float) -> None:
    """Set ``manual_score`` of one grade in nbgrader's gradebook (as formgrader would) and commit."""
    from nbgrader.api import Gradebook

    with Gradebook(_db_url(course), COURSE_ID) as gb:
        grade = gb.find_grade(grade_id, notebook, ASSIGNMENT, student)
        grade.manual_score = points
        grade.needs_manual_grade = False
        gb.db.commit()


# --- example students ---------------------------------------------------------------------------------------------


def _edit(folder: Path, name: str, change: Callable[[nbformat.NotebookNode], None], lab_style: bool = False):
    path = Path(folder) / f"{name}.ipynb"
    nb = nbformat.read(path, as_version=4)
    change(nb)
    if lab_style:
        _as_jupyterlab_saves(nb)
    nbformat.write(nb, path)


def _cell_by_id(nb, grade_id):
    return next(c for c in nb.cells if c.metadata.get("nbgrader", {}).get("grade_id") == grade_id)


def _set(grade_id: str, source: str):
    def change(nb):
        _cell_by_id(nb, grade_id).source = source
    return change


def _all(*changes):
    def change(nb):
        for ch in changes:
            ch(nb)
    return change


def _below_task(nb):
    """Add a code cell and a markdown cell right below the task cell (no nbgrader metadata, as a student would)."""
    i = nb.cells.index(_cell_by_id(nb, "task_cubes"))
    nb.cells[i + 1:i + 1] = [new_code_cell("print([k ** 3 for k in range(1, 6)])"),
                            new_markdown_cell("The cubes grow much faster than the squares.")]


def _as_jupyterlab_saves(nb):
    """Cell ids, per-cell ``execution``/``jupyter``/``collapsed``/``scrolled``/``trusted`` keys and notebook
    metadata with kernelspec "python" / "Python 3 (ipykernel)" and a full language_info."""
    for i, cell in enumerate(nb.cells):
        cell["id"] = cell.get("id") or f"lab-{i:04d}"
        cell.metadata["trusted"] = True
        cell.metadata.setdefault("jupyter", {})["source_hidden"] = False
        if cell.cell_type == "code":
            cell.metadata["collapsed"] = False
            cell.metadata["scrolled"] = True
            cell.metadata["execution"] = {"iopub.execute_input": "2026-01-10T10:59:00.000001Z",
                                          "iopub.status.busy": "2026-01-10T10:59:00.000000Z",
                                          "iopub.status.idle": "2026-01-10T10:59:00.100000Z",
                                          "shell.execute_reply": "2026-01-10T10:59:00.099999Z"}
    nb.metadata["kernelspec"] = {"display_name": "Python 3 (ipykernel)", "language": "python", "name": "python"}
    nb.metadata["language_info"] = {
        "codemirror_mode": {"name": "ipython", "version": 3}, "file_extension": ".py",
        "mimetype": "text/x-python", "name": "python", "nbconvert_exporter": "python",
        "pygments_lexer": "ipython3", "version": "3.11.7"}
    nb.nbformat_minor = max(nb.nbformat_minor, 5)


RIGHT_SQUARES = "def squares(n):\n    return [k ** 2 for k in range(1, n + 1)]"
RIGHT_CUBE = "def cube(x):\n    return x * x * x"
RIGHT_SUM = "def sum_of_squares(n):\n    return sum(squares(n))"
STUDENT_MD = "Each square is bigger than the last, quadratically."

_right_p1 = _all(_set("squares", RIGHT_SQUARES), _set("explain", STUDENT_MD), _set("sum_code", RIGHT_SUM))
_right_p2 = _all(_set("cube", RIGHT_CUBE), _below_task)


def alice(folder: Path) -> None:
    """Everything right: squares, markdown and code answers, cube, two cells below the task."""
    _edit(folder, "problem1", _right_p1)
    _edit(folder, "problem2", _right_p2)


def bob(folder: Path) -> None:
    """Wrong squares (off by one); leaves the released "YOUR ANSWER HERE" markdown and the code stub of
    sum_code untouched; right cube, nothing below the task."""
    _edit(folder, "problem1", _set("squares", "def squares(n):\n    return [k ** 2 for k in range(n)]"))
    _edit(folder, "problem2", _set("cube", RIGHT_CUBE))


def carol(folder: Path) -> None:
    """Alice's answers, saved the way JupyterLab saves a notebook."""
    _edit(folder, "problem1", _right_p1, lab_style=True)
    _edit(folder, "problem2", _right_p2, lab_style=True)


def dave(folder: Path) -> None:
    """Tampers: a wrong squares (returns n), and the 2-point test cell replaced by ``assert True``."""
    _edit(folder, "problem1", _all(_set("squares", "def squares(n):\n    return n"),
                                   _set("test_squares", "assert True"),
                                   _set("explain", STUDENT_MD), _set("sum_code", RIGHT_SUM)))
    _edit(folder, "problem2", _right_p2)


def erin(folder: Path) -> None:
    """Alice's answers; late (see SUBMITTED_AT: her timestamp is set after DUE)."""
    alice(folder)


STUDENTS: dict[str, Callable[[Path], None]] = {"alice": alice, "bob": bob, "carol": carol, "dave": dave, "erin": erin}


# --- a second assignment: what nbgrader does around the notebooks -------------------------------------------------
#
# "ps2" has files beside its notebooks (data, a helper module, a subfolder, the autotests.yml its directives
# need), a task with a mark scheme, ### AUTOTEST and ### HASHED AUTOTEST directives (one in hidden tests), and a
# test that reads NBGRADER_EXECUTION.  Its students hand in files of their own, leave a notebook out, or leave an
# empty timestamp.txt.

PS2 = "ps2"

ENGINES_PROBE = '''# What the engines see. nbgrader runs no cluster: there this prints None.
import os
import ipyparallel as ipp
from IPython.paths import get_ipython_dir
seen = None
# without a cluster's connection file ipp.Client() waits 10 s for one to appear, then raises OSError
if os.path.exists(os.path.join(get_ipython_dir(), "profile_default", "security", "ipcontroller-client.json")):
    rc = ipp.Client()
    seen = rc[:].apply_sync(
        lambda: (open("data.txt").read().strip(), __import__("os").environ.get("NBGRADER_EXECUTION")))
    rc.close()
print("ENGINES", seen)'''

FILES_NB = [
    _cell("markdown", "# Files\n\n`data.txt`, `helpers.py` and `tables/size.txt` come with the assignment; write "
                      "your answer, 42, to `answer.txt`.", "readonly", "files_intro"),
    _cell("code", "def load_number(name):\n    \"\"\"The integer in the file ``name``.\"\"\"\n    ### BEGIN SOLUTION\n"
                  "    with open(name) as f:\n        return int(f.read())\n    ### END SOLUTION", "solution", "load"),
    _cell("code", 'assert load_number("data.txt") == 42', "tests", "test_data", 2),
    _cell("code", 'from helpers import double\nassert double(load_number("data.txt")) == 84', "tests",
          "test_helper", 1),
    _cell("code", 'assert load_number("tables/size.txt") == 7', "tests", "test_table", 1),
    _cell("code", 'assert load_number("answer.txt") == 6 * 7', "tests", "test_own_file", 1),
    _cell("code", 'import os\nassert os.environ.get("NBGRADER_EXECUTION") == "autograde"', "tests",
          "test_grading_env", 1),
    _cell("code", ENGINES_PROBE, "readonly", "engines"),
]

MARK_SCHEME = ("=== BEGIN MARK SCHEME ===\nFull marks: names data.txt and helpers.py; half for one of them.\n"
               "=== END MARK SCHEME ===")
MARKED_TASK = ("## Task\n\nIn a markdown cell below this one, say which files the tests of `files` read.\n\n"
               + MARK_SCHEME)

MARKS_NB = [
    _cell("markdown", MARKED_TASK, "task", "task_files", 3),
    _cell("code", "def triple(x):\n    ### BEGIN SOLUTION\n    return 3 * x\n    ### END SOLUTION", "solution",
          "triple"),
    _cell("code", "assert triple(2) == 6", "tests", "test_triple", 1),
]

AUTO_NB = [
    _cell("markdown", "# Autotests\n\nSet `a` to 5, `b` to `\"hello\"`, `c` to `[3, 1, 2]` and write `fun(x)`, "
                      "which doubles `x`.", "readonly", "auto_intro"),
    _cell("code", "### BEGIN SOLUTION\na = 5\nb = \"hello\"\nc = [3, 1, 2]\n\n\ndef fun(x):\n    return 2 * x\n"
                  "### END SOLUTION", "solution", "answers"),
    _cell("code", "### AUTOTEST a; b\n### AUTOTEST fun(3)", "tests", "test_auto", 2),
    _cell("code", "### HASHED AUTOTEST c", "tests", "test_hashed", 1),
    _cell("code", "### AUTOTEST len(c)\n### BEGIN HIDDEN TESTS\n### HASHED AUTOTEST sorted(c)\n### END HIDDEN TESTS",
          "tests", "test_hidden_auto", 1),
]

# The templates the ### AUTOTEST directives are expanded with (the shape of nbgrader's documented autotests.yml;
# dispatch by the type's name, so that the type-specific templates are used).
AUTOTESTS_YML = '''python3:
    setup: "from hashlib import sha1"
    hash: 'sha1({{snippet}}.encode("utf-8")+b"{{salt}}").hexdigest()'
    dispatch: "type({{snippet}}).__name__"
    normalize: "str({{snippet}})"
    check: 'assert {{snippet}} == """{{value}}""", """{{message}}"""'
    success: "print('Success!')"
    templates:
        default:
            - test: "type({{snippet}})"
              fail: "type of {{snippet}} is not correct"
            - test: "{{snippet}}"
              fail: "value of {{snippet}} is not correct"
        int:
            - test: "type({{snippet}})"
              fail: "type of {{snippet}} is not int"
            - test: "{{snippet}}"
              fail: "value of {{snippet}} is not correct"
        str:
            - test: "type({{snippet}})"
              fail: "type of {{snippet}} is not str"
            - test: "{{snippet}}.lower()"
              fail: "value of {{snippet}} is not correct"
            - test: "{{snippet}}"
              fail: "correct letters in {{snippet}} but not their \\"case\\""
        list:
            - test: "len({{snippet}})"
              fail: "length of {{snippet}} is not correct"
            - test: "sorted(map(str, {{snippet}}))"
              fail: "values of {{snippet}} are not correct"
            - test: "{{snippet}}"
              fail: "order of {{snippet}} is not correct"
'''

PS2_FILES = {"data.txt": "42\n", "helpers.py": "def double(x):\n    return 2 * x\n", "tables/size.txt": "7\n",
             "autotests.yml": AUTOTESTS_YML}
PS2_NOTEBOOKS = {"files": FILES_NB, "marks": MARKS_NB, "auto": AUTO_NB}
PS2_EXPECTED = {
    "files": {"test_data": (2, "auto"), "test_helper": (1, "auto"), "test_table": (1, "auto"),
              "test_own_file": (1, "auto"), "test_grading_env": (1, "auto")},
    "marks": {"task_files": (3, "task"), "test_triple": (1, "auto")},
    "auto": {"test_auto": (2, "auto"), "test_hashed": (1, "auto"), "test_hidden_auto": (1, "auto")},
}

RIGHT_LOAD = "def load_number(name):\n    return int(open(name).read().strip())"
RIGHT_ANSWERS = "a = 5\nb = 'hello'\nc = [3, 1, 2]\n\n\ndef fun(x):\n    return x + x"


def _below_marked_task(nb):
    i = nb.cells.index(_cell_by_id(nb, "task_files"))
    nb.cells.insert(i + 1, new_markdown_cell("data.txt, tables/size.txt and helpers.py"))


def fay(folder: Path) -> None:
    """Everything right, her answer in answer.txt; her own data.txt and helpers.py are wrong, and the
    assignment's copies replace them when it is graded."""
    _edit(folder, "files", _set("load", RIGHT_LOAD))
    _edit(folder, "marks", _all(_set("triple", "def triple(x):\n    return x * 3"), _below_marked_task))
    _edit(folder, "auto", _set("answers", RIGHT_ANSWERS))
    (folder / "answer.txt").write_text("42\n")
    (folder / "data.txt").write_text("13\n")
    (folder / "helpers.py").write_text("def double(x):\n    return 0\n")


def gus(folder: Path) -> None:
    """Submits what he fetched, untouched: every stub raises."""


def hal(folder: Path) -> None:
    """Right files answers but 41 in answer.txt, "Hello" for b, and no marks.ipynb (deleted before submitting);
    his timestamp.txt is left empty (see run_class's submitted_at)."""
    _edit(folder, "files", _set("load", RIGHT_LOAD))
    _edit(folder, "auto", _set("answers", RIGHT_ANSWERS.replace("'hello'", "'Hello'")))
    (folder / "answer.txt").write_text("41\n")
    (folder / "marks.ipynb").unlink()


PS2_STUDENTS: dict[str, Callable[[Path], None]] = {"fay": fay, "gus": gus, "hal": hal}
PS2_SUBMITTED_AT = {"hal": ""}  # an empty timestamp.txt
