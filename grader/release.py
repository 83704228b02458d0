"""``grader release``: write the student version of every exercise.

For an nbgrader course it writes what ``nbgrader generate_assignment`` writes: the notebooks with their
``### AUTOTEST`` directives expanded (:mod:`grader.autotests`), solutions, hidden tests and mark schemes removed,
and the assignment's other files beside them (:func:`grader.assignment_files.source_files`)."""

from __future__ import annotations

import copy
import json
import shutil
import sys
from pathlib import Path

import nbformat
from nbconvert.preprocessors import ClearOutputPreprocessor

from . import autotests
from .assignment_files import source_files
from .exercise import Exercise, ExerciseError, is_nbgrader_course, load_course, load_exercises
from .preprocessors.clear_mark_scheme import ClearMarkScheme
from .preprocessors.clear_solutions import ClearSolutions
from .preprocessors.lock_cells import LockCells
from .preprocessors.remove_hidden_tests import RemoveHiddenTests

PIPELINE = (ClearSolutions(), RemoveHiddenTests(), ClearMarkScheme(), ClearOutputPreprocessor(), LockCells())


def student_version(source_nb):
    """(released notebook, resources with "checksums" and "release_notes") for one source notebook; the source
    is not changed.  ExerciseError (naming the cell) for a source that cannot be released safely."""
    nb, resources = copy.deepcopy(source_nb), {}
    for step in PIPELINE:
        nb, resources = step.preprocess(nb, resources)
    return nb, resources


def student_versions(exercises: dict[str, Exercise]) -> dict[str, tuple]:
    """:func:`student_version` of each exercise, by key; ExerciseError naming the notebook and the cell."""
    out = {}
    for key, exercise in exercises.items():
        try:
            out[key] = student_version(exercise.nb)
        except ExerciseError as e:
            raise ExerciseError(f"{exercise.path}: {e}") from None
    return out


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
        exercises = autotests.instantiate(exercises, Path(course) if course is not None else None)
        versions = student_versions(exercises)
    except ExerciseError as e:
        print(f"grader release: {e}", file=sys.stderr)
        return 2
    checksums = {}
    if course is not None:
        for assignment in sorted({e.assignment for e in exercises.values()}):
            _copy_files(Path(course) / "source" / assignment, Path(course) / "release" / assignment)
    for key, exercise in exercises.items():
        folder = Path(course) / "release" / exercise.assignment if course is not None else Path(out)
        folder.mkdir(parents=True, exist_ok=True)
        nb, resources = versions[key]
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


def _copy_files(source: Path, release: Path) -> None:
    """The assignment's files that are not notebooks, beside the released notebooks (as generate_assignment
    copies them); a link is named, not followed."""
    files, problems = source_files(source)
    for problem in problems:
        print(f"grader release: {problem}", file=sys.stderr)
    for f in files:
        target = release.joinpath(*f.name.split("/"))
        target.parent.mkdir(parents=True, exist_ok=True)
        target.unlink(missing_ok=True)
        assert f.path is not None  # source_files lists files on disk, each with its path
        shutil.copy(f.path, target, follow_symlinks=False)
    if files:
        print(f"copied {len(files)} file(s) of {source} to {release}")
