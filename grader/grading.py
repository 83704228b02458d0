"""The grading of one submission: read it, run the pipeline on a prepared slot, and return its result.

The pipeline is :func:`grading`, one visible sequence of nbconvert preprocessors, each reading and adding
to the typed grading state (:class:`grader.state.GradingState`)::

    RestoreTests -> ScanSubmission -> ExecuteSubmission -> ScoreTests

A submission's time limits come from :class:`grader.options.GradingOptions` (``timeout`` per cell,
``budget`` for all its cells), applied by :class:`~grader.preprocessors.execute_submission.ExecuteSubmission`.
Both runners (:mod:`grader.local`, :mod:`grader.remote`) call :func:`grade_one`; where the slot's kernel
and engines run is :mod:`grader.worker`'s business.
"""

from __future__ import annotations

import contextlib
import copy
import os
import sys
from collections.abc import Sequence
from pathlib import Path

from course.data import start_mirror

from .capped import MAX_EXECUTED_BYTES, write_capped
from .exercise import Exercise
from .intake import REDOWNLOAD, Submission, SubmissionError, describe_error, not_run, now, read_submission, shown
from .late import NO_LATENESS, Lateness
from .options import AUDIT_TIMEOUT, KERNEL_READY_TIMEOUT, PROBE_TIMEOUT, GradingOptions
from .preprocessors.execute_submission import ExecuteSubmission, KernelNotReady
from .preprocessors.restore_tests import RestoreTests
from .preprocessors.scan_submission import ScanSubmission
from .preprocessors.score_tests import ScoreTests
from .results import SubmissionResult
from .state import GradingState
from .worker import Slot, SlotError, Worker


class SealError(RuntimeError):
    """The sandbox that was asked for does not hold on this machine: nothing is graded."""

    def __init__(self, problems: list[str]):
        super().__init__("; ".join(problems))
        self.problems = problems


UNSEALED = ("graded without the sandbox (--no-sandbox): its code ran as the grader's user and could read, write and "
            "reach what the grader can")


def slot_options(options: GradingOptions, root: Path, hide: Sequence[Path], stack: contextlib.ExitStack) -> dict:
    """What each :class:`~grader.worker.Worker` of a run in ``root`` is made with: the box policy from ``options``
    (hiding ``hide`` and ``root``) and, without boxes, one n-gram mirror for all, kept open by ``stack`` (boxes
    serve each their own, :class:`procbox.box.Service`).  SealError if the sandbox was asked for and cannot be
    made here."""
    policy = options.box_policy([*hide, root])
    if options.sandbox and not policy.active:
        raise SealError([f"the sandbox cannot be made here: {policy.reason}"])
    os.chmod(root, 0o711)
    mirror_url = "" if policy.active else stack.enter_context(start_mirror()).url
    return {"mirror_url": mirror_url, "policy": policy, "n_engines": options.engines}


def grade_one(worker: Worker, sub: Submission, exercise: Exercise, released, options: GradingOptions,
              more_to_come: bool, lateness: Lateness = NO_LATENESS) -> tuple[SubmissionResult, str | None]:
    """Read, restore, execute and score one submission; return its result and the executed notebook.

    ``options.stderr_fails`` must be decided (True or False) by the caller, which knows the layout."""
    result = SubmissionResult(sub.student, sub.exercise, shown(sub.path), sub.checksum,
                              max_points=exercise.max_points, started=now(), assignment=sub.assignment)
    lateness.apply(sub, result)
    try:
        nb, flags = read_submission(sub.path, options.max_bytes, checksum=sub.checksum, root=sub.root)
    except Exception as e:  # read_submission makes every failure a SubmissionError; in case not
        message = str(e) if isinstance(e, SubmissionError) else (
            f"{shown(sub.path)}: could not be read ({describe_error(e)}); {REDOWNLOAD}")
        result.status, result.message, result.finished = "error", message, now()
        result.tests = not_run(exercise)
        return result, None
    for attempt in (1, 2):  # a slot that fails before any student code ran is not the student's doing
        try:
            slot = worker.next_slot(more_to_come)
        except SlotError as e:  # two fresh boxes failed to start: this one submission waits for the next run
            worker.failures += 1
            result.status, result.finished = "error", now()
            result.message = (f"{shown(sub.path)}: could not be graded: the grader could not start a cluster for it "
                              f"({e}); run the same command again to grade it")
            result.tests = not_run(exercise, "not graded (the grader failed)")
            return result, None
        worker.failures = 0
        try:
            graded, state = grade_on(slot, copy.deepcopy(nb), flags + list(sub.notes), exercise, released, options,
                                     sub.files)
            break
        except KernelNotReady as e:  # the prepared kernel failed before any student code ran
            if attempt == 2:
                result.status, result.finished = "error", now()
                result.message = (f"{shown(sub.path)}: could not be graded: the grader's kernel failed twice before "
                                  f"any of the student's code ran ({e}); run the same command again to grade it")
                result.tests = not_run(exercise, "not graded (the grader failed)")
                return result, None
            print(f"grader: {sub.student}/{sub.key}: the prepared kernel failed ({e}); "
                  "grading it again on a new one", file=sys.stderr)
    result.tests, result.flags, result.message = state.tests, state.flags, state.message
    result.finished = now()
    return result, write_capped(graded, MAX_EXECUTED_BYTES)


def grading(exercise: Exercise, released, slot: Slot, options: GradingOptions, files: Path | None = None) -> list:
    """The grading of one submission, step by step; each step reads and adds to the typed grading state.

    The slot supplies only the prepared kernel (with its audit channel), the working directory and a check
    of the submission's limits; where that kernel and its engines run is :mod:`grader.worker`'s business.
    ``files`` is the folder of the assignment's files staged for the submission (:meth:`Slot.stage`), which
    the kernel puts beside the notebook before the first cell.
    """
    return [
        RestoreTests(source=exercise.nb, released=released),
        ScanSubmission(),
        ExecuteSubmission(kernel=slot.km, audit=slot.audit, stop_when=slot.limits_reached,
                          cell_timeout=options.timeout, budget=options.budget,
                          guard=True, guard_installed=True, startup_timeout=KERNEL_READY_TIMEOUT,
                          probe_timeout=PROBE_TIMEOUT, audit_timeout=AUDIT_TIMEOUT,
                          files_from=str(files) if files else ""),
        ScoreTests(released=released, stderr_fails=bool(options.stderr_fails)),
    ]


def grade_on(slot: Slot, nb, flags, exercise: Exercise, released, options: GradingOptions, files=()):
    """Stage ``files`` and run :func:`grading` on a prepared slot, which is released afterwards; the notebook and
    the state."""
    state = GradingState(flags=list(flags))
    resources = {"grader": state, "metadata": {"path": str(slot.workdir)}}
    steps = []
    try:
        staged, notes = slot.stage(files)
        for note in notes:
            state.flag(note)
        steps = grading(exercise, released, slot, options, staged)
        for step in steps:
            nb, resources = step.preprocess(nb, resources)
        if not state.limits:  # read before the box closes
            state.limits = slot.limits_reached(
                memory_error=any(r.ename == "MemoryError" for r in state.replies.values()))
    finally:
        slot.release()
    return nb, state
