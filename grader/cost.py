"""What grading costs per submission: the record ``benchmarks/profile_grading.py --record`` writes, and the
documentation page made from it.

    python benchmarks/profile_grading.py --record docs/cost.json   # grade a sample class for real: the figures in
                                                                   # docs/cost.json, the page in docs/cost.md

The record is JSON: the run (:data:`RUN`: when, which commit, the machine, the class) and the figures
(:data:`FIGURES`), each key listed here with what it means.  :func:`load` checks a record and names its file and
the key at fault; :func:`page` renders it as MyST markdown; :func:`write` writes both files (the page beside the
record, with the same name and ``.md``), and the site (``grader book``) shows the page among the docs.  Nothing
in a record is typed by hand: a new run of the benchmark replaces it, and the page says when and where it was
measured.
"""

from __future__ import annotations

import json
import re
from pathlib import Path

# key: (how the page shows it, what it is)
RUN = {
    "measured_at": ("{}", "when the benchmark ran (UTC)"),
    "commit": ("`{}`", "the commit it graded with"),
    "command": ("`{}`", "the command that measured it"),
    "cpus": ("{}", "CPUs of the machine"),
    "memory_gib": ("{:.0f} GiB", "memory of the machine"),
    "load_before": ("{:.2f}", "load average (1 min) when the run began: other work on a shared machine"),
    "workers": ("{}", "grading workers (each keeps two sealed slots)"),
    "sandbox": ("{}", "every submission in a sealed box (namespaces, cgroup, seccomp, no network)"),
    "submissions": ("{}", "submissions graded (a sample class: students x exercises)"),
    "scored_as_expected": ("{}", "of them scored exactly as the sample class expects"),
}
FIGURES = {
    "submissions_per_minute_per_core": ("{:.1f}", "submissions graded per minute, per CPU of the machine"),
    "seconds_per_submission_p50": ("{:.2f} s", "wall time of one submission in its worker, median (p50)"),
    "seconds_per_submission_p99": ("{:.2f} s", "the same, 99th percentile (p99)"),
    "cpu_seconds_per_submission": ("{:.2f} CPU-s", "CPU time of the whole machine per submission (all processes)"),
    "grader_cpu_seconds_per_submission": ("{:.2f} CPU-s", "of which the grader's own process"),
    "prepare_seconds_per_submission": (
        "{:.2f} s", "preparing a submission's sealed slot (box, controller, 4 engines, kernel, guard), mean; a "
                    "worker prepares the next slot while the current submission runs"),
    "prepare_share": ("{:.0%}", "share of a submission's own time (preparing, executing, closing) spent preparing"),
    "box_seconds_per_submission": ("{:.2f} s", "of which setting up the box itself (namespaces, mounts, cgroup)"),
    "fresh_slot_cpu_seconds": ("{:.2f} CPU-s", "CPU time of one slot prepared and stopped with no notebook"),
    "fresh_slot_share_of_cpu": ("{:.0%}", "share of the CPU time per submission that is the fresh slot's"),
}
TEXT_KEYS = {"measured_at": r"\d{4}-\d\d-\d\dT[\d:.]+(\+00:00|Z)?", "commit": r"[0-9a-f]{7,40}",
             "command": r"[\w ./=-]+"}
FLAG_KEYS = {"sandbox"}


class CostRecordError(ValueError):
    """A cost record that is not what the benchmark writes (the message names the file and the key)."""


def check(record: object, where: str) -> dict:
    """``record`` if it has every key of RUN and FIGURES with a value of the right kind; CostRecordError if not."""
    if not isinstance(record, dict):
        raise CostRecordError(f"{where}: a cost record is a JSON object, not {type(record).__name__}; "
                              "write it again with python benchmarks/profile_grading.py --record " + where)
    for key in (*RUN, *FIGURES):
        if key not in record:
            raise CostRecordError(f"{where}: no {key!r}; write it again with python benchmarks/profile_grading.py "
                                  f"--record {where}")
        value = record[key]
        if key in TEXT_KEYS:
            ok = isinstance(value, str) and re.fullmatch(TEXT_KEYS[key], value) is not None
        elif key in FLAG_KEYS:
            ok = isinstance(value, bool)
        else:
            ok = isinstance(value, int | float) and not isinstance(value, bool) and value >= 0
        if not ok:
            raise CostRecordError(f"{where}: {key!r} is {value!r}, not what the benchmark writes there")
    return record


def load(path: str | Path) -> dict:
    """The checked record in the JSON file ``path``."""
    path = Path(path)
    try:
        record = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError) as e:
        raise CostRecordError(f"{path}: could not be read as JSON ({e})") from None
    return check(record, str(path))


def shown(fmt: str, value) -> str:
    """A value of a record as its page shows it: yes or no for a flag, else formatted with ``fmt``."""
    return ("yes" if value else "no") if isinstance(value, bool) else fmt.format(value)


def page(record: dict) -> str:
    """The documentation page of a checked record, in MyST markdown."""
    run = "\n".join(f"| {what} | {shown(fmt, record[key])} |" for key, (fmt, what) in RUN.items())
    figures = "\n".join(f"| {what} | {shown(fmt, record[key])} |" for key, (fmt, what) in FIGURES.items())
    template = (Path(__file__).parent / "templates" / "cost.md").read_text(encoding="utf-8")
    return template.format(command=record["command"], date=record["measured_at"][:10], figures=figures, run=run)


def write(record: dict, path: str | Path) -> Path:
    """Check ``record``, write it as JSON to ``path`` and its page beside it (``.md``); return the page's path."""
    path = Path(path)
    check(record, str(path))
    path.write_text(json.dumps(record, indent=1) + "\n", encoding="utf-8")
    md = path.with_suffix(".md")
    md.write_text(page(record), encoding="utf-8")
    return md
