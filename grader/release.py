"""``grader release``: write the student version of every exercise."""

from __future__ import annotations

import copy
import json
import sys
from pathlib import Path

import nbformat
from nbconvert.preprocessors import ClearOutputPreprocessor

from .exercise import ExerciseError, load_exercises
from .preprocessors.clear_solutions import ClearSolutions
from .preprocessors.lock_cells import LockCells
from .preprocessors.remove_hidden_tests import RemoveHiddenTests

PIPELINE = (ClearSolutions(), RemoveHiddenTests(), ClearOutputPreprocessor(), LockCells())


def student_version(source_nb):
    """(released notebook, resources with "checksums") for one source notebook; the source is not changed."""
    nb, resources = copy.deepcopy(source_nb), {}
    for step in PIPELINE:
        nb, resources = step.preprocess(nb, resources)
    return nb, resources


def main(*, source: str | Path = "exercises", out: str | Path = "release") -> int:
    """Write ``out/<NN-name>.ipynb`` and ``out/checksums.json``; return 0, or 2 (a one-line error) if the source
    is missing or malformed."""
    try:
        exercises = load_exercises(source)
    except ExerciseError as e:
        print(f"grader release: {e}", file=sys.stderr)
        return 2
    out = Path(out)
    out.mkdir(parents=True, exist_ok=True)
    checksums = {}
    for name, exercise in exercises.items():
        nb, resources = student_version(exercise.nb)
        nbformat.write(nb, out / f"{name}.ipynb")
        checksums[name] = resources["checksums"]
        print(f"released {out / (name + '.ipynb')}  ({len(exercise.tests)} tests, {exercise.max_points:g} points)")
    (out / "checksums.json").write_text(json.dumps(checksums, indent=2, sort_keys=True) + "\n")
    return 0
