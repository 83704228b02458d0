"""``grader publish OUT``: the tree of the *student* repository, which the launch links pull.

Students open lessons and exercises on a JupyterHub (nbgitpuller) or on Binder (:mod:`course.launch`); both pull
a repository.  It must not be this one: ``exercises/`` here holds the solutions and hidden tests.  ``publish``
writes what students need and nothing else:

- ``notebooks/`` (the lessons), ``exercises/`` (the released student versions, as ``grader release`` writes
  them), ``data/`` (the n-gram sample files), the packages (``course``, ``procbox``, ``grader``: the course
  package installs as one project), ``pyproject.toml``, ``environment.yml``, ``jupyter-config/``, ``binder/``
  (Binder builds the environment and ``binder/start`` starts the course's 4-engine cluster), and
  ``docs/students.md`` as its README;
- not ``samples/``, ``tests/``, ``benchmarks/``, ``deploy/`` or the instructors' documentation.

Then it checks the tree: no line that release removed from an exercise (solution code, hidden tests, mark
schemes; lines of at least 16 characters that no released exercise, lesson or package source holds) may appear
in any text file it wrote, or what it wrote is removed again and the command fails naming the file.  OUT may be
a clone of the student repository: its ``.git`` and any file this command does not write are kept, what it
writes is replaced whole.
"""

from __future__ import annotations

import json
import shutil
import sys
from pathlib import Path

import nbformat

from .exercise import ExerciseError, load_exercises
from .release import student_versions

ROOT = Path(__file__).resolve().parents[1]
FOLDERS = ("notebooks", "data", "course", "procbox", "grader", "jupyter-config", "binder")
FILES = ("pyproject.toml", "environment.yml")
IGNORE = shutil.ignore_patterns("__pycache__", "*.pyc", ".ipynb_checkpoints")
MIN_SECRET = 16  # shorter removed lines ("return []", "else:") are not evidence of a leak


class PublishError(RuntimeError):
    pass


def _lines(text: str) -> set[str]:
    return {line.strip() for line in text.splitlines()}


def secret_lines(source: dict[str, nbformat.NotebookNode], released: dict[str, nbformat.NotebookNode],
                 public: frozenset[str] | set[str] = frozenset()) -> set[str]:
    """The lines (stripped, of at least MIN_SECRET characters) that release removed from the source notebooks
    and that no released notebook and no ``public`` line holds: text whose only home is a solution, a hidden
    test or a mark scheme."""
    def lines(nb):
        return {line for cell in nb.cells for line in _lines(cell.source)}
    shown = set(public).union(*(lines(nb) for nb in released.values()))
    removed = set().union(*(lines(nb) for nb in source.values())) - shown
    return {line for line in removed if len(line) >= MIN_SECRET}


def public_lines(root: Path) -> set[str]:
    """Every line of the lessons and of the packages' sources: public whatever the exercises hold."""
    lines: set[str] = set()
    for path in [*(root / "notebooks").glob("*.ipynb"), *(p for name in ("course", "procbox", "grader")
                                                           for p in (root / name).rglob("*.py"))]:
        text = path.read_text(encoding="utf-8")
        if path.suffix == ".ipynb":
            text = "\n".join(c.source for c in nbformat.reads(text, as_version=4).cells)
        lines |= _lines(text)
    return lines


def _strings(value):
    """Every string inside a decoded JSON value."""
    if isinstance(value, str):
        yield value
    elif isinstance(value, dict):
        for v in value.values():
            yield from _strings(v)
    elif isinstance(value, list):
        for v in value:
            yield from _strings(v)


def leaks(out: Path, secret: set[str]) -> list[str]:
    """``file: line`` for every text file under ``out`` (not in .git) that holds a secret line, as text or inside
    JSON (a notebook under any name: the lines its cells' strings make)."""
    found = []
    for path in sorted(p for p in out.rglob("*") if p.is_file() and ".git" not in p.relative_to(out).parts):
        try:
            text = path.read_text(encoding="utf-8")
        except (UnicodeDecodeError, OSError):
            continue
        lines = _lines(text)
        try:
            lines |= _lines("\n".join(_strings(json.loads(text))))
        except ValueError:  # not JSON
            pass
        hit = sorted(lines & secret)
        if hit:
            found.append(f"{path.relative_to(out)}: {hit[0]}")
    return found


def publish(out: Path, source: Path, root: Path = ROOT) -> list[Path]:
    """Write the student tree to ``out`` (see the module); the paths written.  PublishError if it would leak."""
    missing = [name for name in (*FOLDERS, *FILES, "docs/students.md") if not (root / name).exists()]
    if missing:
        raise PublishError(f"{root}: not a clone of the course ({', '.join(missing)} missing); run publish from one")
    exercises = load_exercises(source)
    released = {key: nb for key, (nb, _) in student_versions(exercises).items()}
    out.mkdir(parents=True, exist_ok=True)
    written = []
    for name in (*FOLDERS, "exercises"):
        if (out / name).is_symlink() or (out / name).is_file():
            (out / name).unlink()
        elif (out / name).exists():
            shutil.rmtree(out / name)
    for name in FOLDERS:
        shutil.copytree(root / name, out / name, ignore=IGNORE, symlinks=False)
        written.append(out / name)
    for name in FILES:
        shutil.copyfile(root / name, out / name)
        written.append(out / name)
    shutil.copyfile(root / "docs" / "students.md", out / "README.md")
    written.append(out / "README.md")
    (out / "exercises").mkdir()
    for key, nb in released.items():
        nbformat.write(nb, out / "exercises" / f"{Path(key).name}.ipynb")
    written.append(out / "exercises")
    found = leaks(out, secret_lines({k: e.nb for k, e in exercises.items()}, released, public_lines(root)))
    if found:
        for path in written:
            shutil.rmtree(path) if path.is_dir() else path.unlink()
        raise PublishError("the student tree would hold what release removes from the exercises; nothing was "
                           "published. First found:\n  " + "\n  ".join(found[:5]))
    return written


def main(*, out: str | Path, source: str | Path = ROOT / "exercises") -> int:
    """Write the student repository's tree to ``out``; 0, or 2 with a one-line reason."""
    try:
        written = publish(Path(out), Path(source))
    except (PublishError, ExerciseError, OSError) as e:
        print(f"grader publish: {e}", file=sys.stderr)
        return 2
    print(f"grader publish: wrote {len(written)} folders and files to {out}: lessons, released exercises, data, "
          "the course package and binder/. Push it to the student repository named in course/launch.toml.")
    return 0
