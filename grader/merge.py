"""``grader merge``: one gradebook from the gradebooks of a class graded in shares (``grader grade --shard K/N``).

The same submission in two gradebooks: the result that finished last wins, and the merge says which.  Scores
given by hand are merged the same way (the one given last wins).
"""

from __future__ import annotations

import sys
from pathlib import Path

from .gradebook import Gradebook, GradebookError


def merge(out: Path, sources: list[Path]) -> list[str]:
    """Merge ``sources`` into ``out`` (created if need be, its own rows taking part); the notes on conflicts."""
    notes: list[str] = []
    with Gradebook(out) as target:
        kept: dict[tuple, tuple[str, str]] = {}  # (student, assignment, exercise) -> (finished, where from)
        for r in target.submissions():
            kept[(r.student, r.assignment, r.exercise)] = (r.finished, str(out))
        manual_kept = {(m["student"], m["assignment"], m["exercise"], m["test"]): m["graded_at"]
                       for m in target.db.execute("SELECT * FROM manual")}
        for path in sources:
            with Gradebook(path) as book:
                for r in book.submissions():
                    key = (r.student, r.assignment, r.exercise)
                    name = "/".join(k for k in key if k)
                    if key in kept:
                        finished, where = kept[key]
                        if r.finished <= finished:
                            notes.append(f"{name}: graded in {where} (finished {finished}) and in {path} (finished "
                                         f"{r.finished}); kept the one from {where}")
                            continue
                        notes.append(f"{name}: graded in {where} (finished {finished}) and in {path} (finished "
                                     f"{r.finished}); kept the newer one from {path}")
                    target.record(r, book.executed_notebook(r.student, r.exercise, r.assignment))
                    kept[key] = (r.finished, str(path))
                newer = []
                for m in book.db.execute("SELECT * FROM manual"):
                    mkey = (m["student"], m["assignment"], m["exercise"], m["test"])
                    if mkey not in manual_kept or m["graded_at"] > manual_kept[mkey]:
                        newer.append(dict(m))
                        manual_kept[mkey] = m["graded_at"]
                target.record_manual(newer)
    return notes


def main(*, out: str | Path, gradebooks: list[str | Path]) -> int:
    missing = [str(p) for p in gradebooks if not Path(p).is_file()]
    if missing:
        print(f"grader merge: no gradebook at {', '.join(missing)}; pass the files `grader grade --shard` wrote",
              file=sys.stderr)
        return 2
    if any(Path(p).resolve() == Path(out).resolve() for p in gradebooks):
        print(f"grader merge: {out} is also an input; write the merge to a new file", file=sys.stderr)
        return 2
    try:
        notes = merge(Path(out), [Path(p) for p in gradebooks])
    except GradebookError as e:
        print(f"grader merge: {e}", file=sys.stderr)
        return 2
    for note in notes:
        print(f"grader merge: {note}", file=sys.stderr)
    with Gradebook(out) as book:
        count = len(book.submissions())
    print(f"merged {len(gradebooks)} gradebook(s) into {out}: {count} submission(s)"
          + (f", {len(notes)} graded more than once (the newer result kept)" if notes else ""))
    return 0
