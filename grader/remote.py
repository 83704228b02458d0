"""``grader grade --cluster PROFILE``: submissions graded on the engines of an existing ipyparallel cluster.

Each engine of that (outer) cluster is one worker: on its own host it grades one submission at a time in the
usual sealed boxes, each with its own local 4-engine cluster (:mod:`grader.worker`), and keeps its worker
warm between submissions.  The instructor's grader sends each submission's bytes with its exercise and, in an
nbgrader course, the assignment's files (so the hosts need no shared file system, only this project
installed), records every result in the gradebook as it arrives, and gives a submission whose engine died to
another engine.  A run that stops is resumed by running it again: what is in the gradebook and unchanged is
not graded twice.
"""

from __future__ import annotations

import atexit
import concurrent.futures
import contextlib
import hashlib
import sys
import threading
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import nbformat

from procbox.liveness import answering

from . import assignment_files
from .exercise import Exercise
from .grading import UNSEALED, SealError, grade_one, slot_options
from .intake import Submission, SubmissionError, describe_error, error_row, read_plain, shown
from .late import Lateness
from .options import GradingOptions

# -- on an engine of the outer cluster ----------------------------------------------------------------------

_HERE: dict = {}  # this engine's worker, its run root, mirror and thread, made on the first submission
_LOCK = threading.Lock()


@dataclass
class Job:
    """One submission as it travels to an engine."""

    student: str
    exercise: str
    assignment: str
    name: str  # the file's name where it came from, for messages
    data: bytes
    checksum: str
    source: str  # the exercise's source notebook (JSON)
    released: str  # its student version (JSON)
    submitted_at: str
    notes: tuple
    options: GradingOptions  # the run's, whole (its stderr rule decided): limits, time, network, engines per box
    lateness: Lateness
    files: tuple = ()  # an nbgrader assignment's files, with their bytes (grader.assignment_files.with_data)


def _setup(options: GradingOptions):
    from course.data import private_dirs
    from procbox.rundirs import PREFIX, run_root

    from .worker import Worker

    stack = contextlib.ExitStack()
    root = Path(stack.enter_context(run_root(PREFIX)))
    inbox = root / "inbox"
    inbox.mkdir(mode=0o700)
    try:
        slots = slot_options(options, root, [inbox, *(p for p in private_dirs() if p.exists())], stack)
    except BaseException:
        stack.close()
        raise
    policy = slots["policy"]
    worker = Worker(root / "worker-0", **slots)
    stack.callback(worker.close)
    problems = worker.check_sealed() if policy.active else []
    if problems:
        stack.close()
        raise SealError(problems)
    thread = concurrent.futures.ThreadPoolExecutor(1, thread_name_prefix="remote-grader")
    stack.callback(thread.shutdown)
    atexit.register(stack.close)
    return {"worker": worker, "inbox": inbox, "thread": thread, "stack": stack, "policy": policy.describe(),
            "sealed": policy.active, "options": options}


def grade_job(job: Job):
    """Grade ``job`` here, on this engine's host; (SubmissionResult, executed notebook JSON or None, host)."""
    import socket

    with _LOCK:
        if not _HERE:
            _HERE.update(_setup(job.options))
        elif _HERE["options"].box_key() != job.options.box_key():  # another run's limits: a worker of its own
            _HERE.pop("stack").close()
            _HERE.clear()
            _HERE.update(_setup(job.options))
    here = _HERE
    # the worker's kernels run their own event loops: grade in the worker's own thread, not the engine's
    return here["thread"].submit(_grade_here, here, job).result() + (socket.gethostname(),)


def entry(job: Job):
    """What is sent to an engine: ipyparallel sends a function's code and runs it in the engine's namespace, so
    this one only imports the module, whose own globals the grading then uses."""
    from grader.remote import grade_job

    return grade_job(job)


def _grade_here(here: dict, job: Job):
    from .worker import close_thread_loop

    digest = hashlib.sha256(job.data).hexdigest()
    folder = here["inbox"] / digest[:16]
    folder.mkdir(exist_ok=True)
    path = folder / f"{job.exercise}.ipynb"
    path.write_bytes(job.data)
    try:
        source = nbformat.reads(job.source, as_version=4)
        released = nbformat.reads(job.released, as_version=4)
        exercise = Exercise(job.exercise, path, source, job.assignment)
        sub = Submission(job.student, job.exercise, path, job.checksum, root=folder, assignment=job.assignment,
                         submitted_at=job.submitted_at, notes=tuple(job.notes), files=tuple(job.files))
        result, executed = grade_one(here["worker"], sub, exercise, released, job.options, more_to_come=True,
                                     lateness=job.lateness)
        result.path = job.name
        if not here["sealed"]:
            result.flags.append(UNSEALED)
        if result.message:
            result.message = result.message.replace(str(path), job.name)
        return result, executed
    finally:
        path.unlink(missing_ok=True)
        folder.rmdir()
        close_thread_loop()


def close_here() -> bool:
    """Stop this engine's worker (its boxes and clusters); True if there was one."""
    with _LOCK:
        if not _HERE:
            return False
        _HERE.pop("stack").close()
        _HERE.clear()
        return True


# -- in the instructor's grader -------------------------------------------------------------------------------

class RemoteClusterError(RuntimeError):
    """The outer cluster cannot be reached or has no engine left (the message says what to do)."""


def connect(profile: str, timeout: float = 30):
    """A client of the cluster ``profile``: a profile's name, its directory, or an ``ipcontroller-client.json``."""
    import ipyparallel as ipp

    where = Path(profile)
    if where.is_dir():  # a profile directory: its cluster's connection file (ipcluster's, or ipp.Cluster's own)
        files = [where / "security" / "ipcontroller-client.json"]
        if not files[0].exists():
            files = sorted((where / "security").glob("ipcontroller-*-client.json"), key=lambda p: p.stat().st_mtime)
        kwargs = {"connection_info": str(files[-1])} if files else {"profile_dir": str(where)}
    elif where.suffix == ".json" and where.is_file():  # a client connection file
        kwargs = {"connection_info": str(where)}
    else:  # a profile's name in IPYTHONDIR
        kwargs = {"profile": profile}
    try:
        client = ipp.Client(timeout=timeout, **kwargs)
    except Exception as e:  # any failure to connect is the same advice
        raise RemoteClusterError(f"cannot connect to the ipyparallel cluster of profile {profile!r} ({e}); start it "
                                 f"first (ipcluster start --profile {profile}) or pass another --cluster") from None
    if not client.ids:
        try:
            client.wait_for_engines(1, timeout=timeout)
        except Exception:
            client.close()
            raise RemoteClusterError(f"the cluster of profile {profile!r} has no engines; start some") from None
    # a controller registers engines whether or not its task queues work (a queue whose port another process took at
    # its start is dead, and work sent through it is waited for for ever): each engine must run a no-op first
    ids = sorted(client.ids)
    silent = sorted(set(ids) - answering(client, ids, timeout))
    if silent:
        client.close()
        raise RemoteClusterError(
            f"the engines {silent} of the cluster of profile {profile!r} are registered but run nothing sent through "
            f"its controller's queues within {timeout:.0f} s (a queue that died: its controller's log says "
            f"'Address already in use'?); restart the cluster and run the same command again")
    return client


def run_on_cluster(client, todo, jobs_for, record, quiet: bool = False) -> list:
    """Grade every submission of ``todo`` on ``client``'s engines, one at a time per engine; ``jobs_for(sub)``
    makes its :class:`Job`, ``record(result, executed)`` keeps each result as it arrives.  A submission whose
    engine died goes to another engine; when no engine is left, :class:`RemoteClusterError`."""
    import ipyparallel as ipp

    from .progress import Progress

    pending = list(reversed(todo))
    engines = list(client.ids)
    running: dict = {}  # AsyncResult -> (engine id, submission, tries)
    ar: Any  # an ipyparallel AsyncResult: a Future with ready() and get() (ipyparallel has no types)
    tries: dict = {}
    results = []
    bar = Progress(len(todo), "grading", quiet=quiet)
    try:
        while pending or running:
            for engine in [e for e in engines if e not in {v[0] for v in running.values()}]:
                if not pending:
                    break
                sub = pending.pop()
                job = jobs_for(sub)
                if job is None:  # could not even be read here: recorded as its error row
                    bar.update(f"{sub.student}/{sub.key}: not readable")
                    continue
                running[client[engine].apply_async(entry, job)] = (engine, sub)
            if not running:
                raise RemoteClusterError("no engine of the cluster is left to grade on; start engines and run the "
                                         "same command again to grade the rest")
            done, _ = concurrent.futures.wait(list(running), timeout=5,
                                              return_when=concurrent.futures.FIRST_COMPLETED)
            if not done:
                alive = set(client.ids)
                for ar, (engine, _sub) in list(running.items()):
                    if engine not in alive:  # unregistered without its task ever failing
                        done.add(ar)
            for ar in done:
                engine, sub = running.pop(ar)
                try:
                    if not ar.ready():
                        raise ipp.error.EngineError(f"engine {engine} unregistered")
                    result, executed, host = ar.get(timeout=0)
                except (ipp.error.EngineError, ipp.error.TimeoutError, OSError) as e:
                    engines = [x for x in engines if x != engine]
                    tries[sub.key, sub.student] = tries.get((sub.key, sub.student), 0) + 1
                    print(f"grader: engine {engine} of the cluster died while grading {sub.student}/{sub.key} "
                          f"({type(e).__name__}); grading it again on another engine", file=sys.stderr)
                    if tries[sub.key, sub.student] > 2:
                        raise RemoteClusterError(f"{sub.student}/{sub.key}: three engines died grading it; look at "
                                                 "what it does before grading it again") from None
                    pending.append(sub)
                    continue
                except ipp.error.RemoteError as e:
                    if e.ename == "EngineError":  # the controller's word that the engine is gone
                        engines = [x for x in engines if x != engine]
                        pending.append(sub)
                        print(f"grader: engine {engine} of the cluster died while grading {sub.student}/{sub.key}; "
                              "grading it again on another engine", file=sys.stderr)
                        continue
                    if e.ename == "SealError":
                        raise RemoteClusterError(f"engine {engine}'s host refused to grade: the sandbox does not hold "
                                                 f"there ({e.evalue}); fix that host, or pass --no-sandbox to grade "
                                                 "unconfined") from None
                    raise RemoteClusterError(f"grading {sub.student}/{sub.key} failed on engine {engine} "
                                             f"({e.ename}: {e.evalue}); is this project installed on that host, at "
                                             "the same version?") from None
                record(result, executed)
                results.append(result)
                bar.update(f"{sub.student}/{sub.key} {result.total:g}/{result.possible:g} on {host}")
    finally:
        bar.close()
        for ar in running:
            with contextlib.suppress(Exception):
                ar.abort()
    return results


def grade_on_cluster(todo: list, exercises: dict, released: dict, record, options: GradingOptions,
                     lateness: Lateness) -> list:
    """Grade ``todo`` on the engines of the cluster ``options.cluster``, recording each result with ``record``
    (rows of submissions that cannot be read here too); the results.  RemoteClusterError says what went wrong
    (every result recorded so far stays recorded)."""

    def job_for(sub: Submission):
        try:
            data = read_plain(sub.path, sub.root, options.max_bytes)
        except Exception as e:  # this submission's error row, as when graded here
            message = str(e) if isinstance(e, SubmissionError) else \
                f"{shown(sub.path)}: could not be read ({describe_error(e)})"
            row = error_row(sub.student, sub.exercise, sub.path, sub.checksum, message, exercises[sub.key],
                            sub.assignment)
            record(row)
            rows.append(row)
            return None
        files, notes = assignment_files.with_data(sub.files, options.work_bytes // 2)
        return Job(sub.student, sub.exercise, sub.assignment, shown(sub.path), data, sub.checksum,
                   nbformat.writes(exercises[sub.key].nb), nbformat.writes(released[sub.key]),
                   sub.submitted_at, tuple(sub.notes) + tuple(notes), options, lateness, files)

    rows: list = []
    if options.cluster is None:  # the caller grades here instead
        raise RemoteClusterError("grade_on_cluster needs options.cluster (grader grade --cluster PROFILE)")
    client = connect(options.cluster)
    try:
        if not options.quiet:
            print(f"grading {len(todo)} submission(s) on the {len(client.ids)} engine(s) of cluster "
                  f"{options.cluster!r}")
        return rows + run_on_cluster(client, todo, job_for, record, quiet=options.quiet)
    finally:
        client.close()
