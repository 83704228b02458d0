"""Students who take shortcuts or cheat, read from ``samples/`` (see ``samples/README.md``).

Each :class:`Shortcut` is one student's submission for one exercise: every solution filled in
from the source, except the solution cell ``question``, whose code is ``source``.  The tests named
in ``misses`` must fail on it and every other test must pass; the grader must raise a flag
containing each text of ``flags`` (and no other flag of the guard's).
"""

from __future__ import annotations

import functools
from dataclasses import dataclass
from pathlib import Path

SAMPLES = Path(__file__).resolve().parents[1] / "samples"
HEADER = "#: "

RESTORED = "; restored before the tests"  # how the guard's flag for what it put back before a test ends
DURING = "while the test ran; the test scores 0"  # how its flag for what changed while a test ran ends


@dataclass(frozen=True)
class Shortcut:
    name: str  # the student's folder is shortcut-<NN>-<name>
    question: str  # grade_id of the solution cell replaced
    source: str  # what the student wrote there instead
    misses: tuple[str, ...]  # grade_ids of the tests that must fail on it (the others pass)
    flags: tuple[str, ...] = ()  # texts that flags of the grader's guard must contain (no other such flag is raised)


def parse(path: Path, root: Path = SAMPLES) -> Shortcut:
    """One sample file: ``#: key: value`` header lines, then the cell's source (after the text of
    ``root/preludes/<prelude>.py`` if a ``#: prelude:`` line names one: code several students share)."""
    lines = path.read_text().splitlines()
    fields: dict[str, list[str]] = {"question": [], "misses": [], "flag": [], "prelude": []}
    n = 0
    while n < len(lines) and lines[n].startswith(HEADER):
        key, sep, value = lines[n][len(HEADER):].partition(":")
        if not sep or key.strip() not in fields:
            raise ValueError(f"{path}:{n + 1}: expected '#: question|misses|flag|prelude: ...', got {lines[n]!r}")
        fields[key.strip()].append(value.strip())
        n += 1
    if len(fields["question"]) != 1:
        raise ValueError(f"{path}: needs exactly one '#: question: <grade_id>' line at the top")
    misses = tuple(m.strip() for line in fields["misses"] for m in line.split(",") if m.strip())
    shared = "".join((root / "preludes" / f"{name}.py").read_text() for name in fields["prelude"])
    return Shortcut(path.stem, fields["question"][0], shared + "\n".join(lines[n:]).rstrip("\n"), misses,
                    tuple(fields["flag"]))


def load(kind: str, root: Path = SAMPLES) -> dict[str, list[Shortcut]]:
    """{exercise: [Shortcut, ...]} from ``root/<kind>/<exercise>/*.py``, in file-name order."""
    return {d.name: [parse(p, root) for p in sorted(d.glob("*.py"))]
            for d in sorted((root / kind).iterdir()) if d.is_dir()}


@functools.cache
def _all() -> tuple[dict, dict]:
    cheats = load("cheats")
    shortcuts = load("shortcuts")
    for name, students in cheats.items():
        shortcuts.setdefault(name, []).extend(students)
    return shortcuts, cheats


def __getattr__(name: str):  # SHORTCUTS (every student, cheats included) and CHEATS, read on first use
    if name == "SHORTCUTS":
        return _all()[0]
    if name == "CHEATS":
        return _all()[1]
    raise AttributeError(name)
