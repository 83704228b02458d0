"""Benchmark: our grader against nbgrader's autograde on the same class, and the floor (cell execution alone).

    .venv/bin/python benchmarks/grade_vs_nbgrader.py [--students 30 | --quick] [--workers N] [--no-sandbox]
                                                     [--baseline REV]

Run from the repository root: 30+ minutes on 2 cores with --quick (6 students; the floor alone about 17).
nbgrader is installed once into benchmarks/.cache/nbgrader-venv (``python3 -m venv``; pip; ``pip install -e .
--no-deps`` for ``course.data``).  Each run makes an nbgrader course (assignment ps1 = every exercise), builds the class
from nbgrader's released notebooks with grader.sample_class, grades the same files three ways and measures
the price of isolation:

1. OURS: ``grade.main(...)`` in a child process; it owns a 4-engine cluster that it replaces and verifies
   before every submission;
2. NBGRADER: ``nbgrader autograde ps1 --force``, its kernels run by this project's Python (a ``python3``
   kernelspec first on JUPYTER_PATH: the same interpreter and packages as ours) and pointed (IPYTHONDIR,
   NGRAM_BASE_URL) at one 4-engine cluster started beforehand and never reset;
3. the FLOOR: the notebooks as graded (source test cells, hidden ones too) run cell by cell, each in a new
   kernel on a new 4-engine cluster (engines without nannies, as ours), both started beforehand (and warmed: they
   import what our fork server's template has imported) and stopped afterwards, untimed; only the cells' execution
   time, and the machine's busy CPU during it, are summed;
4. ISOLATION alone: 8 times, a sealed slot (box, controller, 4 engines, kernel, guard; verified) prepared and
   stopped with no notebook (``profile_grading.fresh_cycles``), to print what 5x nbgrader's throughput would leave
   for it on this machine's CPUs once the cells have had theirs.

It prints wall time, time per submission, throughput, ours relative to nbgrader and to the floor, each
grader's peak RSS (its process tree; nbgrader's with its cluster), CPUs, load, and whether every (student,
exercise) got the same score from both: all from this one run on a shared, noisy machine.  Logs go to
benchmarks/.cache/last-run/; every process it starts is stopped.
"""

from __future__ import annotations

import argparse
import contextlib
import copy
import json
import os
import shutil
import signal
import subprocess
import sys
import tempfile
import threading
import time
import uuid
from datetime import datetime
from pathlib import Path
from unittest import mock

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

import nbformat  # noqa: E402
import psutil  # noqa: E402
from jupyter_client import KernelManager  # noqa: E402

import grader.sample_class as sample_class  # noqa: E402
from course.data import ENV_VAR, start_mirror  # noqa: E402
from grader.exercise import is_locked, is_test, load_exercises, nbgrader as nbgrader_meta  # noqa: E402
from grader.gradebook import Gradebook  # noqa: E402
from grader.local import default_workers  # noqa: E402
from grader.preprocessors.restore_tests import RestoreTests  # noqa: E402
from grader.release import student_version  # noqa: E402
from measure import load, machine_cpu  # noqa: E402
from procbox.cluster import LocalCluster  # noqa: E402
from procbox.forkserver import prepare_template  # noqa: E402
from procbox.processes import TOKEN_VAR, stop_carrying  # noqa: E402
from profile_grading import fresh_cycles  # noqa: E402

CACHE = ROOT / "benchmarks" / ".cache"
VENV = CACHE / "nbgrader-venv"
NBG_PY, NBGRADER = VENV / "bin" / "python", VENV / "bin" / "nbgrader"
KERNELS = CACHE / "nbgrader-kernels"  # a JUPYTER_PATH entry holding kernels/python3
# carried by nbgrader's and the floor's kernels and whatever the graded notebooks start there (exercise 22 starts
# clusters that outlive a kernel shut down at once): stop_carrying(TOKEN) stops them all after each run, by PID
TOKEN = uuid.uuid4().hex
LOGS = CACHE / "last-run"
ASSIGNMENT = "ps1"
OURS = ("import sys; from grader import grade; a = sys.argv; sys.exit(grade.main(submissions=a[1], source=a[2], "
        "gradebook=a[3], timeout=float(a[4]), workers=int(a[5]) or None, quiet=True, sandbox=a[6] == 'on'))")
# Run in each floor kernel before its first cell (not timed): it imports what our grader's fork server imports before
# it forks a kernel (procbox.forkserver.prepare_template), so the floor's cells pay no import that ours do not pay
# either.  The engines are warmed the same way from here (run_floor); a client made in the kernel would stay
# behind (the %px magics keep the first one), so the kernel makes none.
WARM_UP = "from procbox.forkserver import prepare_template as _prepare\n_prepare()\ndel _prepare"
NBG_SCORES = """import json, sys
from nbgrader.api import Gradebook
with Gradebook("sqlite:///" + sys.argv[1]) as gb:
    print(json.dumps([[s.student_id, nb.name, nb.score, {g.name: g.score for g in nb.grades}]
                      for s in gb.assignment_submissions(sys.argv[2]) for nb in s.notebooks]))
"""


def ensure_nbgrader() -> str:
    """nbgrader in its own venv (from the package index), installed once, and its kernelspec; return its version."""
    ok = NBG_PY.exists() and subprocess.run([NBG_PY, "-c", "import nbgrader"], capture_output=True).returncode == 0
    if not ok:
        print(f"installing nbgrader into {VENV} (first run only) ...", flush=True)
        subprocess.run(["python3", "-m", "venv", "--clear", str(VENV)], check=True)
        pip = [str(NBG_PY), "-m", "pip", "install", "--quiet", "--disable-pip-version-check"]
        subprocess.run([*pip, "nbgrader", "ipyparallel>=9,<10", "numpy", "wget"], check=True)
        subprocess.run([*pip, "-e", str(ROOT), "--no-deps"], check=True)  # the exercises import course.data
    # nbgrader's kernels are this project's Python, as ours are (a kernelspec named python3 first on JUPYTER_PATH),
    # so a notebook needing one of the course's packages (threadpoolctl, cloudpickle) runs the same under both
    spec = KERNELS / "kernels" / "python3"
    spec.mkdir(parents=True, exist_ok=True)
    (spec / "kernel.json").write_text(json.dumps({
        "argv": [sys.executable, "-m", "ipykernel_launcher", "-f", "{connection_file}"],
        "display_name": "Python 3 (this project)", "language": "python"}))
    return subprocess.run([NBG_PY, "-c", "import nbgrader; print(nbgrader.__version__)"],
                          capture_output=True, text=True, check=True).stdout.strip()


def baseline_tree(rev: str) -> Path:
    """A git worktree of this repository at ``rev`` (made once), run with this venv and PYTHONPATH=it."""
    sha = subprocess.run(["git", "rev-parse", rev], cwd=ROOT, capture_output=True, text=True, check=True).stdout.strip()
    tree = CACHE / f"baseline-{sha[:12]}"
    if not tree.exists():
        subprocess.run(["git", "worktree", "add", "--detach", str(tree), sha], cwd=ROOT, check=True,
                       capture_output=True)
    return tree


def nbgrader_env(**extra) -> dict:
    """nbgrader runs its venv's tools by name (alembic), so its bin/ goes first on PATH; its kernels are this
    project's Python (KERNELS, written by ensure_nbgrader)."""
    return dict(os.environ, **extra, JUPYTER_PATH=str(KERNELS),
                PATH=f"{VENV / 'bin'}{os.pathsep}{os.environ.get('PATH', '')}")


@contextlib.contextmanager
def peak_rss(roots):
    """Yields a dict whose "MiB" ends as the peak summed RSS of ``roots()`` and all their descendants."""
    peak, stop = {"MiB": 0.0}, threading.Event()

    def sample():
        while True:
            procs, total = {}, 0
            for pid in roots():
                with contextlib.suppress(psutil.Error):
                    top = psutil.Process(pid)
                    procs.update((p.pid, p) for p in [top, *top.children(recursive=True)])
            for p in procs.values():
                with contextlib.suppress(psutil.Error):
                    total += p.memory_info().rss
            peak["MiB"] = max(peak["MiB"], total / 2**20)
            if stop.wait(0.2):
                return

    thread = threading.Thread(target=sample, daemon=True)
    thread.start()
    try:
        yield peak
    finally:
        stop.set()
        thread.join()


def timed_run(cmd, log: str, extra_pids=lambda: [], **kw) -> tuple[int, float, float]:
    """Run ``cmd`` to the end, output to LOGS/log; return (exit code, wall s, peak RSS MiB of its tree)."""
    with open(LOGS / log, "w") as out:
        t0 = time.perf_counter()
        proc = subprocess.Popen([str(c) for c in cmd], stdout=out, stderr=subprocess.STDOUT, **kw)
        try:
            with peak_rss(lambda: [proc.pid, *extra_pids()]) as mem:
                rc = proc.wait()
        finally:
            if proc.poll() is None:  # we were interrupted: Ctrl-C it by PID (it cleans up) and wait for it
                proc.send_signal(signal.SIGINT)
                try:
                    proc.wait(30)
                except subprocess.TimeoutExpired:
                    proc.terminate()
                    proc.wait()
    return rc, time.perf_counter() - t0, mem["MiB"]


def setup_nbgrader(course: Path, exercises, timeout: float) -> dict:
    """An nbgrader course whose assignment ps1 holds the exercises; return nbgrader's released notebooks."""
    (course / "source" / ASSIGNMENT).mkdir(parents=True)
    (course / "nbgrader_config.py").write_text(
        f"c = get_config()\nc.CourseDirectory.root = {str(course)!r}\nc.CourseDirectory.course_id = 'bench'\n"
        f"c.Execute.timeout = {int(timeout)}\n")
    for name, ex in exercises.items():
        shutil.copy(ex.path, course / "source" / ASSIGNMENT / f"{name}.ipynb")
    rc, _, _ = timed_run([NBGRADER, "generate_assignment", ASSIGNMENT, "--force"], "nbgrader-generate.log",
                         cwd=course, env=nbgrader_env())
    if rc:
        sys.exit(f"nbgrader generate_assignment failed (exit {rc}); see {LOGS / 'nbgrader-generate.log'}")
    return {name: nbformat.read(course / "release" / ASSIGNMENT / f"{name}.ipynb", as_version=4) for name in exercises}


def run_floor(subs: dict, exercises, mirror_url: str, timeout: float, tmp: Path) -> tuple[float, float, dict, int]:
    """Seconds spent executing cells (summed), the machine's busy CPU seconds meanwhile, each submission's test
    points, and how many locked setup cells failed (any: the floor is not valid).

    Each submission gets a new 4-engine cluster and a new kernel, both started and ready before its first cell and
    stopped after its last, none of it timed: what one submission does to its cluster or its kernel (an engine shut
    down, a module patched, a cluster started by exercise 22) cannot reach the next, as with ours and unlike one
    shared kernel, where later exercises' setup cells failed.  Before the first cell the kernel and its engines
    import what our fork server's template imports (WARM_UP): warm, as ours are.  Only the cells are timed, with the
    machine's CPU around each, so the floor is what the cells need and nothing of what keeps them apart."""
    ours_released = {name: student_version(ex.nb)[0] for name, ex in exercises.items()}
    quiet = dict(output_hook=lambda msg: None, allow_stdin=False)
    busy, cpu, scores, broken = 0.0, 0.0, {}, 0
    for i, ((student, name), path) in enumerate(subs.items()):
        nb, _ = RestoreTests(source=exercises[name].nb, released=ours_released[name]).preprocess(
            nbformat.read(path, as_version=4), {})
        points = 0.0
        with contextlib.ExitStack() as stack, open(LOGS / "floor-kernel.log", "ab") as log:
            cwd = stack.enter_context(tempfile.TemporaryDirectory(prefix="bench-floor-", dir=tmp))
            cluster = stack.enter_context(LocalCluster(ipython_dir=Path(cwd) / f"ipython-{i}", nanny=False))
            with cluster.client() as rc:
                rc[:].apply_sync(prepare_template)
            stack.callback(stop_carrying, TOKEN)  # runs after the kernel stops, before the cluster does
            km = KernelManager(kernel_name="python3")
            env = dict(os.environ, IPYTHONDIR=str(cluster.ipython_dir), **{ENV_VAR: mirror_url, TOKEN_VAR: TOKEN})
            km.start_kernel(env=env, cwd=cwd, stdout=log, stderr=log)
            stack.callback(km.shutdown_kernel, now=True)
            kc = km.client()
            kc.start_channels()
            stack.callback(kc.stop_channels)
            kc.wait_for_ready(timeout=60)
            warmed = kc.execute_interactive(WARM_UP, silent=True, store_history=False, timeout=120, **quiet)
            if warmed["content"]["status"] != "ok":
                raise RuntimeError(f"the floor's kernel could not warm up for {student}/{name}: {warmed['content']}")
            time.sleep(1)  # what starting them still does (an engine's last registration steps) is not the cells'
            for cell in (c for c in nb.cells if c.cell_type == "code"):
                t0, c0 = time.perf_counter(), machine_cpu()
                try:
                    ok = kc.execute_interactive(cell.source, timeout=timeout, **quiet)["content"]["status"] == "ok"
                except TimeoutError:
                    km.interrupt_kernel()
                    ok = False
                busy, cpu = busy + time.perf_counter() - t0, cpu + machine_cpu() - c0
                points += float(nbgrader_meta(cell).get("points", 0)) if ok and is_test(cell) else 0.0
                broken += not ok and is_locked(cell) and not is_test(cell)  # a setup cell: the floor is broken
        scores[(student, name)] = points
    return busy, cpu, scores, broken


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--students", type=int, default=30, help="students in the class (default 30)")
    ap.add_argument("--quick", action="store_true", help="a fast check: 6 students")
    ap.add_argument("--workers", type=int, default=0,
                    help="our grader's workers (default 0: the grader's own default, one per CPU up to 4)")
    ap.add_argument("--timeout", type=float, default=60, help="seconds per cell, both graders (default 60)")
    ap.add_argument("--no-sandbox", action="store_true", help="run our grader with sandbox=False")
    ap.add_argument("--baseline", metavar="REV", default=None,
                    help="also grade the class with our grader as of git revision REV (a worktree in "
                         "benchmarks/.cache), in this same run, and print both throughput ratios")
    args = ap.parse_args()
    students, sandbox = (6 if args.quick else args.students), ("off" if args.no_sandbox else "on")
    workers = args.workers or f"{default_workers().reason} (the default)"
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(143))  # so every finally runs
    shutil.rmtree(LOGS, ignore_errors=True)
    LOGS.mkdir(parents=True)
    started, load_start = datetime.now().isoformat(timespec="seconds"), load()
    version = ensure_nbgrader()
    exercises = load_exercises(ROOT / "exercises")
    rows = {}  # name -> (seconds, peak MiB or None, exit code, load before, load after)

    with tempfile.TemporaryDirectory(prefix="bench-nbgrader-") as tmp:
        tmp, course = Path(tmp), Path(tmp) / "course"
        released = setup_nbgrader(course, exercises, args.timeout)
        by_source = {id(ex.nb): released[name] for name, ex in exercises.items()}  # students start from nbgrader's
        with mock.patch.object(sample_class, "student_version", lambda nb: (copy.deepcopy(by_source[id(nb)]), {})):
            expected = sample_class.make_class(exercises, tmp / "class", students=students)
        subs = {(s, e): tmp / "class" / s / f"{e}.ipynb" for s, e in sorted(expected)}
        for (s, e), path in subs.items():
            (course / "submitted" / s / ASSIGNMENT).mkdir(parents=True, exist_ok=True)
            shutil.copy(path, course / "submitted" / s / ASSIGNMENT / f"{e}.ipynb")
        n, cells = len(subs), lambda nb: [(c.cell_type, c.source) for c in nb.cells]
        same = all(cells(released[k]) == cells(student_version(ex.nb)[0]) for k, ex in exercises.items())
        print(f"class: {students} students x {len(exercises)} exercises = {n} submissions, built from nbgrader "
              f"{version}'s release (its cells' types and sources {'equal' if same else 'DIFFER FROM'} our "
              f"release's; it adds checksum metadata); timeout {args.timeout:g} s per cell", flush=True)

        print(f"grading with ours (workers={workers}, sandbox requested {sandbox}) ...", flush=True)
        before, book, cpu0 = load(), tmp / "ours.sqlite", machine_cpu()
        rc, wall, mem = timed_run([sys.executable, "-c", OURS, tmp / "class", ROOT / "exercises", book,
                                   args.timeout, args.workers, sandbox], "ours.log", cwd=ROOT)
        rows["ours (grade.main)"] = (wall, mem, rc, before, load(), machine_cpu() - cpu0)
        if args.baseline:
            tree = baseline_tree(args.baseline)
            print(f"grading with ours as of {args.baseline} ({tree}) ...", flush=True)
            before, cpu0 = load(), machine_cpu()
            rc, wall, mem = timed_run([sys.executable, "-c", OURS, tmp / "class", ROOT / "exercises",
                                       tmp / "baseline.sqlite", args.timeout, args.workers, sandbox], "baseline.log",
                                      cwd=tree, env=dict(os.environ, PYTHONPATH=str(tree)))
            baseline = (wall, mem, rc, before, load(), machine_cpu() - cpu0)
        with Gradebook(book) as gb:
            graded = gb.submissions()
        ours = {(r.student, r.exercise): r.total for r in graded}
        ours_tests = {(r.student, r.exercise): {t.test: t.points for t in r.tests} for r in graded}
        flagged = sum(1 for r in graded if r.flags)
        said = [ln for ln in (LOGS / "ours.log").read_text().splitlines() if ln.startswith("sandbox:")]
        sandbox_line = said[0] if said else f"sandbox: {sandbox} (a quiet grade.main announces only one that is off)"

        with start_mirror() as mirror, LocalCluster(ipython_dir=tmp / "nbg-ipython") as cluster:
            print("grading with nbgrader autograde (one cluster, started beforehand, never reset) ...", flush=True)
            env = nbgrader_env(IPYTHONDIR=str(cluster.ipython_dir), **{ENV_VAR: mirror.url, TOKEN_VAR: TOKEN})
            before = load()
            cpu0 = machine_cpu()
            try:
                rc, wall, mem = timed_run([NBGRADER, "autograde", ASSIGNMENT, "--force"], "nbgrader-autograde.log",
                                          extra_pids=cluster.pids, cwd=course, env=env)
            finally:
                stop_carrying(TOKEN)
            rows["nbgrader autograde"] = (wall, mem, rc, before, load(), machine_cpu() - cpu0)
        out = json.loads(subprocess.run([NBG_PY, "-c", NBG_SCORES, course / "gradebook.db", ASSIGNMENT],
                                        env=nbgrader_env(), capture_output=True, text=True, check=True).stdout)
        theirs = {(s, e): score for s, e, score, _ in out}
        their_tests = {(s, e): tests for s, e, _, tests in out}

        with start_mirror() as mirror:
            print("measuring the floor (cells alone; each submission in a new kernel and cluster started "
                  "beforehand) ...", flush=True)
            before = load()
            busy, cpu, floor_scores, broken = run_floor(subs, exercises, mirror.url, args.timeout, tmp)
            rows["floor (cells only)"] = (busy, None, 0, before, load(), cpu)

    print("measuring the price of isolation alone (a sealed slot prepared and stopped, no notebook) ...", flush=True)
    cycle = fresh_cycles(8, sandbox == "on")

    print(f"\n== Figures from THIS run (started {started}; nothing here is quoted from elsewhere)")
    print(f"machine: {os.cpu_count()} CPUs ({len(os.sched_getaffinity(0))} usable); load average (1/5/15 min) "
          f"at start {load_start}, at end {load()}")
    print(f"class: {n} submissions ({students} students x {len(exercises)} exercises); ours: workers="
          f"{workers}, {sandbox_line}; nbgrader {version}: one cluster, never reset")
    print(f"\n  {'':<20} {'wall s':>8} {'s/subm.':>8} {'subm./s':>8} {'CPU s/subm.':>12} {'peak RSS MiB':>13} "
          f"{'exit':>5}   load avg (1 min) before -> after")
    for name, (wall, mem, rc, before, after, cpu) in rows.items():
        print(f"  {name:<20} {wall:8.1f} {wall / n:8.2f} {n / wall:8.3f} {cpu / n:12.2f} "
              f"{mem and round(mem) or '-':>13} {rc:>5}   {before.split()[0]} -> {after.split()[0]}")
    (ow, *_), (nw, *_), (fw, *_) = rows.values()
    if args.baseline:
        bw, bmem, brc, bbefore, bafter, bcpu = baseline
        print(f"  {'ours at ' + args.baseline[:11]:<20} {bw:8.1f} {bw / n:8.2f} {n / bw:8.3f} {bcpu / n:12.2f} "
              f"{bmem and round(bmem) or '-':>13} {brc:>5}   {bbefore.split()[0]} -> {bafter.split()[0]}")
        print(f"\n  throughput ratio to nbgrader: {nw / bw:.2f}x at {args.baseline} -> {nw / ow:.2f}x now "
              f"(now / then = {bw / ow:.2f})")
    print(f"\n  our throughput = {nw / ow:.2f} x nbgrader's  (wall: ours {ow:.1f} s, nbgrader {nw:.1f} s)")
    print(f"  our wall time  = {ow / fw:.2f} x the floor;  nbgrader's = {nw / fw:.2f} x the floor")
    print("  (the floor excludes kernel and cluster start-up; nbgrader's wall excludes starting its cluster)")
    cpus, floor_cpu = len(os.sched_getaffinity(0)), rows["floor (cells only)"][5] / n
    print(f"  CPU: the floor's cells alone need {floor_cpu:.2f} CPU s per submission (kernel, controller, engines, "
          f"mirror, all busy CPU on the machine during that run), so on {cpus} CPUs no grader that runs them can go "
          f"below {floor_cpu / cpus:.2f} s per submission; ours used {rows['ours (grade.main)'][5] / n:.2f} "
          f"CPU s per submission including a new verified cluster and kernel for each")
    target, ours_cpu = nw / n / 5, rows["ours (grade.main)"][5] / n
    nbg_cpu = rows["nbgrader autograde"][5] / n
    print(f"  CPU s per submission: ours {ours_cpu:.2f}, nbgrader {nbg_cpu:.2f}, floor {floor_cpu:.2f}; ours = "
          f"{ours_cpu / floor_cpu:.2f} x the floor's (nbgrader's = {nbg_cpu / floor_cpu:.2f} x; issue 26 asks <= 1.5)")
    budget = target * cpus - floor_cpu
    if budget <= 0:
        verdict = "So 5x cannot be reached here even with no isolation at all."
    elif cycle["machine"] > budget:
        verdict = (f"So 5x cannot be reached here with a fresh box and processes per submission: isolation alone "
                   f"costs {cycle['machine'] / budget:.1f}x what is left.")
    else:
        verdict = "So 5x is within reach of isolation's price."
    print(f"  5x nbgrader's throughput means {target:.2f} s per submission, so at most {target * cpus:.2f} CPU s per "
          f"submission on {cpus} CPUs kept fully busy; the cells take {floor_cpu:.2f}, which leaves {budget:.2f} CPU s "
          f"for a submission's new sealed box, controller, 4 engines, kernel and its grading. One such slot, prepared "
          f"and stopped with no notebook, costs {cycle['machine']:.2f} CPU s ({cycle['grader']:.2f} of them in the "
          f"grader) and {cycle['wall']:.2f} s; ours spent {ours_cpu - floor_cpu:.2f} CPU s per submission beyond the "
          f"cells. {verdict}")
    if broken:
        print(f"  !! the floor is NOT valid: {broken} locked setup cells failed in its kernel")

    def compare(label: str, them: str, other: dict, tests=None) -> None:
        wrong = sorted(k for k in subs if ours.get(k) != other.get(k))
        print(f"  {label}: " + (f"SAME score for all {n} submissions" if not wrong else
                                f"{len(wrong)} of {n} submissions got DIFFERENT scores"))
        for k in wrong:
            theirs_k = (tests or {}).get(k, {})
            diff = ", ".join(f"{t} {p:g} vs {theirs_k.get(t)}" for t, p in ours_tests.get(k, {}).items()
                             if tests and p != theirs_k.get(t))
            print(f"    {k[0]}/{k[1]}: ours {ours.get(k)}, {them} {other.get(k)}, sample class expects "
                  f"{expected[k]:g}" + (f"; tests (ours vs {them}): {diff}" if diff else ""))

    print(f"\n== Scores (ours flagged {flagged} of {n} submissions, e.g. for nbgrader's extra cell metadata; "
          "flags never change a score)")
    compare("ours vs nbgrader", "nbgrader", theirs, their_tests)
    compare("ours vs what the sample class should get", "expected", expected)
    compare("ours vs the floor run's test cells", "floor", floor_scores)
    restored = (LOGS / "nbgrader-autograde.log").read_text().count("Attribute 'checksum' for cell")
    print(f"\nnbgrader restored {restored} test cells from its database (they lacked hidden tests or were edited)")
    print(f"logs: {LOGS}")
    return 0 if all(row[2] == 0 for row in rows.values()) else 1


if __name__ == "__main__":
    sys.exit(main())
