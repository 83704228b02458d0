"""A grading run's settings, declared once: :class:`GradingOptions`.

Every option is a field with its default and its help text; ``grader grade``'s command line is made from
the fields (:func:`add_arguments`), :func:`grader.grade.main` takes the object (or keywords naming its
fields), and the object travels whole: to the local workers (:mod:`grader.local`) and, in every job, to
the engines of a grading cluster (:mod:`grader.remote`).  It is frozen: nothing changes a run's settings
on the way.

The time limits that are not options (how long a prepared kernel has to answer again, how long a kernel
has after a cell timed out, how long the audit hook has for its last check) are named here too, so that
this one file says every time a submission may take.
"""

from __future__ import annotations

import argparse
import dataclasses
from dataclasses import dataclass, field
from pathlib import Path

from procbox.cluster import DEFAULT_ENGINES
from procbox.policy import (
    DEFAULT_MEMORY,
    DEFAULT_PROCS,
    DEFAULT_TMP,
    DEFAULT_WORK,
    BoxPolicy,
    parse_size as box_parse_size,
)

# -- the time limits of one submission --------------------------------------------------------------------

DEFAULT_TIMEOUT = 60.0  # seconds one cell may run (--timeout)
DEFAULT_BUDGET = 600.0  # seconds all the cells of one submission may take together (--budget)
KERNEL_READY_TIMEOUT = 20  # seconds a prepared kernel (already answering, guard installed) has to answer again
PROBE_TIMEOUT = 10  # seconds a kernel has to answer after a timed-out cell (then it is stopped)
AUDIT_TIMEOUT = 2.0  # seconds the audit hook has to answer the check after the last cell
MAX_NOTEBOOK_BYTES = 50 * 1024 * 1024  # the largest notebook file read (--max-bytes)


def _size(n: int) -> str:
    return f"{n // 2**30}G" if n % 2**30 == 0 else f"{n // 2**20}M"


def parse_size(text: str) -> int:
    """Bytes from ``512M``, ``2G`` ... (:func:`procbox.policy.parse_size`), as argparse wants its errors."""
    try:
        return box_parse_size(text)
    except ValueError as e:
        raise argparse.ArgumentTypeError(str(e)) from None


def _option(default, help: str, *, flag: str | None = None, **argparse_kw):
    """A field of :class:`GradingOptions`: its default, its help text and how the command line spells it."""
    return field(default=default, metadata={"help": help, "flag": flag, "argparse": argparse_kw})


@dataclass(frozen=True)
class GradingOptions:
    """How one run grades.  Fields are grouped: what to grade, lateness, time, limits of a box, where it runs."""

    # what to grade
    source: str = _option("exercises", "instructor exercises (default: %(default)s)")
    gradebook: str = _option("gradebook.sqlite", "SQLite gradebook (default: %(default)s)")
    assignment: str | None = _option(None, "in an nbgrader course, grade only this assignment (default: every "
                                     "assignment)")
    student: str | None = _option(None, "grade only this student")
    force: bool = _option(False, "regrade submissions already graded and unchanged", action="store_true")
    shard: str | None = _option(None, "grade only share K of N (0 <= K < N), fixed by student name: for a Slurm job "
                                "array (--shard $SLURM_ARRAY_TASK_ID/N) or a Kubernetes Indexed Job "
                                "($JOB_COMPLETION_INDEX/N); combine the gradebooks with grader merge", metavar="K/N")
    max_bytes: int = _option(MAX_NOTEBOOK_BYTES, "largest notebook file accepted (default: %(default)s)", type=int)
    # lateness
    due: tuple[str, ...] = _option((), "a due date, e.g. ps1='2026-01-10 17:00 Europe/Berlin' (repeatable; without "
                                   "ASSIGNMENT= for all; an nbgrader course's own due dates are read from its "
                                   "gradebook.db)", action="append", metavar="[ASSIGNMENT=]WHEN")
    late_policy: str = _option("none", "none, zero, per-hour:P or per-day:P (P percent of the points possible off "
                               "per hour or day late; default: %(default)s)")
    grace: str = _option("0", "lateness that costs nothing, e.g. 15m (default: none)")
    submitted_at: str | None = _option(None, "submission times (columns student, assignment, submitted_at) where "
                                       "there is no nbgrader timestamp.txt, or to override it", metavar="CSV")
    # time and output
    timeout: float = _option(DEFAULT_TIMEOUT, "seconds per cell (default: %(default)s)", type=float)
    budget: float = _option(DEFAULT_BUDGET, "seconds all the cells of one submission may take together, at least "
                            "--timeout; the cells after it ran out do not run (default: %(default)s)", type=float)
    stderr_fails: bool | None = _option(None, "a test that writes to stderr fails, as nbgrader scores it (default: "
                                        "in an nbgrader course only)", flag="--stderr-fails",
                                        action=argparse.BooleanOptionalAction)
    # the box of each submission
    sandbox: bool = _option(True, "run student code unconfined, where the sandbox cannot be made or does not hold "
                            "(it needs root or user namespaces; see docs/threat-model.md); every row then "
                            "says so", flag="--no-sandbox", action="store_false")
    network: str = _option("none", "none: each submission's box has a network of its own with loopback only (its "
                           "cluster, kernel and n-gram mirror); host: the machine's network, for exercises that "
                           "need the internet (default: %(default)s)", choices=["none", "host"])
    memory: int = _option(DEFAULT_MEMORY, f"memory of all the processes of one submission together, e.g. 2G "
                          f"(default: {_size(DEFAULT_MEMORY)})", type=parse_size)
    max_procs: int = _option(DEFAULT_PROCS, "processes and threads of one submission together (default: "
                             "%(default)s)", type=int)
    tmp_bytes: int = _option(DEFAULT_TMP, f"bytes a submission may keep in /tmp (default: {_size(DEFAULT_TMP)})",
                             flag="--tmp-size", type=parse_size)
    work_bytes: int = _option(DEFAULT_WORK, f"bytes a submission may keep in its working directory (default: "
                              f"{_size(DEFAULT_WORK)})", flag="--work-size", type=parse_size)
    engines: int = _option(DEFAULT_ENGINES, "engines per cluster (default: %(default)s)", type=int)
    # where it runs
    workers: int | None = _option(None, "submissions graded at once, each with its own clusters (default: one per "
                                  "CPU, as many as the available memory holds at two boxes of --memory each, and "
                                  "at most one per 4 submissions)", type=int)
    cluster: str | None = _option(None, "grade on the engines of this running ipyparallel cluster, one worker per "
                                  "engine, each with sealed boxes on its own host", metavar="PROFILE")
    quiet: bool = _option(False, "no progress bar or summary", action="store_true")

    def __post_init__(self):
        set_ = object.__setattr__.__get__(self)
        set_("source", str(self.source))
        set_("gradebook", str(self.gradebook))
        set_("due", tuple(self.due or ()))
        set_("grace", str(self.grace))
        if self.submitted_at is not None:
            set_("submitted_at", str(self.submitted_at))
        problems = [f"--timeout {self.timeout}: a cell needs more than 0 seconds" if not self.timeout > 0 else "",
                    f"--engines {self.engines}: at least 1" if self.engines < 1 else "",
                    f"--workers {self.workers}: at least 1" if self.workers is not None and self.workers < 1 else "",
                    f"--network {self.network!r}: none or host" if self.network not in ("none", "host") else ""]
        if any(problems):
            raise ValueError("; ".join(p for p in problems if p))
        set_("budget", max(float(self.budget), float(self.timeout)))  # the budget is at least one cell's time

    def replace(self, **changes) -> GradingOptions:
        return dataclasses.replace(self, **changes)

    def box_key(self) -> tuple:
        """What makes two runs' boxes and clusters alike (a grading engine keeps its worker between such runs)."""
        return (self.sandbox, self.network, self.memory, self.max_procs, self.tmp_bytes, self.work_bytes,
                self.engines)

    def box_policy(self, hide: list[Path]) -> BoxPolicy:
        """The sealed box of each submission, hiding ``hide`` besides what the allowlisted root never shows."""
        return BoxPolicy(hide=hide, memory=self.memory, max_procs=self.max_procs, tmp_bytes=self.tmp_bytes,
                         work_bytes=self.work_bytes, requested=self.sandbox, network=self.network)


def add_arguments(parser: argparse.ArgumentParser) -> None:
    """One command-line option per field of :class:`GradingOptions`, with its help text and default."""
    for f in dataclasses.fields(GradingOptions):
        meta = f.metadata
        flag = meta["flag"] or "--" + f.name.replace("_", "-")
        kw = {"dest": f.name, "help": meta["help"], **meta["argparse"]}
        if kw.get("action") == "append":
            kw["default"] = []
        elif kw.get("action") not in ("store_true", "store_false"):
            kw["default"] = f.default
        parser.add_argument(flag, **kw)


def from_arguments(args: dict) -> GradingOptions:
    """The options among parsed arguments (the rest are left in ``args``)."""
    names = {f.name for f in dataclasses.fields(GradingOptions)}
    return GradingOptions(**{k: args.pop(k) for k in list(args) if k in names})
