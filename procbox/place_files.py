"""Runs inside a box's kernel, before the notebook's first cell: put the files a notebook needs beside it.

They were staged in the run directory (the grader's :mod:`grader.assignment_files`, a notebook's folder for
:class:`procbox.session.SealedSession`); :func:`place` copies them into the kernel's working directory, the tmpfs
inside the box that the engines share and that nothing outside can write into.
:class:`grader.preprocessors.execute_submission.ExecuteSubmission` calls it through a ``user_expressions`` request
before any student code has run, the session through a silent request before the notebook's first cell.
"""

import json
import os
import shutil


def expression(staged: str | os.PathLike) -> str:
    """The ``user_expressions`` entry that has a kernel run :func:`place` on ``staged`` (its value: place's JSON)."""
    return f"__import__({__name__!r}, fromlist=['place']).place({str(staged)!r})"


def place(staged: str) -> str:
    """Copy every file below ``staged`` into the current directory, folders and all; JSON ``{"files": n}``,
    with ``"error"`` if a copy failed (a full working directory, say)."""
    here, count = os.getcwd(), 0
    try:
        for top, _dirs, names in os.walk(staged):  # the grader wrote it: folders and regular files only
            folder = os.path.normpath(os.path.join(here, os.path.relpath(top, staged)))
            os.makedirs(folder, exist_ok=True)
            for name in names:
                source = os.path.join(top, name)
                if not os.path.islink(source):
                    shutil.copy(source, os.path.join(folder, name))
                    count += 1
    except OSError as e:
        return json.dumps({"files": count, "error": f"{type(e).__name__}: {e}"})
    return json.dumps({"files": count})
