"""``grader release``: write the student version of every exercise."""

from __future__ import annotations

import copy
import json
import sys
from pathlib import Path

import nbformat
from nbconvert.preprocessors import ClearOutputPreprocessor

from .exercise import ExerciseError, is_nbgrader_course, load_course, load_exercises
from .preprocessors.clear_solutions import ClearSolutions
from .preprocessors.lock_cells import LockCells
from .preprocessors.remove_hidden_tests import RemoveHiddenTests

PIPELINE = (ClearSolutions(), RemoveHiddenTests(), ClearOutputPreprocessor(), LockCells())


def student_version(source_nb):
    """(released notebook, resources with "checksums" and "release_notes") for one source notebook; the source
    is not changed."""
    nb, resources = copy.deepcopy(source_nb), {}
    for step in PIPELINE:
        nb, resources = step.preprocess(nb, resources)
    return nb, resources


def main(*, source: str | Path = "exercises", out: str | Path = "release", course: str | Path | None = None,
         assignment: str | None = None) -> int:
    """Write ``out/<NN-name>.ipynb`` and ``out/checksums.json``; for an nbgrader ``course``, write
    ``COURSE/release/<assignment>/<notebook>.ipynb`` as nbgrader's generate_assignment would.  Return 0, or 2
    (a one-line error) if the source is missing or malformed."""
    try:
        if course is not None:
            if not is_nbgrader_course(course):
                raise ExerciseError(f"{course}: not an nbgrader course (no source/ folder); pass the folder that "
                                    "holds source/<assignment>/, or use --source for a flat folder of exercises")
            exercises = load_course(course, assignment)
        else:
            exercises = load_exercises(source)
    except ExerciseError as e:
        print(f"grader release: {e}", file=sys.stderr)
        return 2
    checksums = {}
    for key, exercise in exercises.items():
        folder = Path(course) / "release" / exercise.assignment if course is not None else Path(out)
        folder.mkdir(parents=True, exist_ok=True)
        nb, resources = student_version(exercise.nb)
        target = folder / f"{exercise.name}.ipynb"
        nbformat.write(nb, target)
        checksums[key] = resources["checksums"]
        auto = len(exercise.tests)
        by_hand = len(exercise.graded) - auto
        print(f"released {target}  ({auto} tests" + (f", {by_hand} graded by hand" if by_hand else "")
              + f", {exercise.max_points:g} points)")
        for note in resources["release_notes"]:
            print(f"grader release: {exercise.path}: {note}", file=sys.stderr)
    if course is None:  # an nbgrader release folder is what students fetch: nothing else goes there
        (Path(out) / "checksums.json").write_text(json.dumps(checksums, indent=2, sort_keys=True) + "\n")
    return 0
