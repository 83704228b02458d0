#!/usr/bin/env python
"""Refresh the navigation cells of the lesson notebooks.

Every notebook ``notebooks/NN-<slug>.ipynb`` gets a markdown cell right after
its title cell and another one at its very end, each starting with
``<!--NAVIGATION-->``, linking the previous lesson, the course index
(``../README.md#the-notebooks``) and the next lesson.  Link texts are the
lessons' H1 titles.

It also writes the table of lessons in README.md (under ``## The notebooks``): per lesson its number,
title and the exercise it leads to (its own, or the one its text points to).

The script is idempotent: old navigation cells are replaced, and a notebook is
written only when its content changes, so running it twice changes nothing.
Notebooks are always written without outputs or execution counts.

    python scripts/nav.py            # update the notebooks in place
    python scripts/nav.py --check    # exit 1 (and name them) if any would change
"""

from __future__ import annotations

import argparse
import re
import sys
from pathlib import Path

import nbformat

from course.site import NAV_MARKER, is_navigation, lesson_title

INDEX_LINK = "[Index](../README.md#the-notebooks)"
NOTEBOOK_NAME = re.compile(r"^\d\d-[a-z0-9-]+\.ipynb$")
ROOT = Path(__file__).resolve().parents[1]
NB_DIR = ROOT / "notebooks"


def lesson_paths(nb_dir: Path = NB_DIR) -> list[Path]:
    """The lesson notebooks, in course order (their NN- prefix)."""
    return sorted(p for p in nb_dir.glob("*.ipynb") if NOTEBOOK_NAME.match(p.name))


def nav_source(prev: tuple[str, str] | None, nxt: tuple[str, str] | None) -> str:
    """``← [prev](prev.ipynb) · [Index](...) · [next](next.ipynb) →`` (ends dropped when absent)."""
    parts = []
    if prev:
        parts.append(f"← [{prev[1]}]({prev[0]})")
    parts.append(INDEX_LINK)
    if nxt:
        parts.append(f"[{nxt[1]}]({nxt[0]}) →")
    return NAV_MARKER + "\n" + " · ".join(parts)


def clean(nb) -> None:
    """Drop outputs, execution counts and per-run cell metadata."""
    for cell in nb.cells:
        if cell.cell_type == "code":
            cell.outputs = []
            cell.execution_count = None
        cell.metadata.pop("execution", None)


def refresh(nb, source: str) -> None:
    """Replace the notebook's navigation cells by one after the title cell and one at the end."""
    nb.cells = [c for c in nb.cells if not is_navigation(c)]
    top = nbformat.v4.new_markdown_cell(source)
    top.id = "nav-top"
    bottom = nbformat.v4.new_markdown_cell(source)
    bottom.id = "nav-bottom"
    nb.cells.insert(1, top)
    nb.cells.append(bottom)


README = ROOT / "README.md"
TABLE_HEAD = "| # | Tutorial | Exercise |\n|---|---|---|\n"
EXERCISE_LINK = re.compile(r"\.\./exercises/(\d\d-[a-z0-9-]+)\.ipynb")


def readme_table(paths: list[Path], notebooks: list) -> str:
    """The README's table of lessons: number, linked title, the exercise it leads to (or a dash)."""
    rows = []
    for path, nb in zip(paths, notebooks):
        own = path.parent.parent / "exercises" / path.name
        text = "\n".join(c.source for c in nb.cells if c.cell_type == "markdown" and not is_navigation(c))
        pointed = EXERCISE_LINK.search(text)
        if own.is_file():
            exercise = f"[exercise](exercises/{path.name})"
        elif pointed:
            n = int(pointed[1][:2])
            exercise = f"[exercise](exercises/{pointed[1]}.ipynb), after lesson {n}"
        else:
            exercise = "—"
        rows.append(f"| {int(path.name[:2])} | [{lesson_title(nb)}](notebooks/{path.name}) | {exercise} |\n")
    return TABLE_HEAD + "".join(rows)


def refresh_readme(readme: str, table: str) -> str:
    """README's text with its lessons' table replaced by ``table``."""
    start = readme.index(TABLE_HEAD)
    end = readme.index("\n\n", start)
    return readme[:start] + table.rstrip("\n") + readme[end:]


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--check", action="store_true", help="change nothing; exit 1 if a notebook would change")
    parser.add_argument("--dir", type=Path, default=NB_DIR, help="notebook folder (default: %(default)s)")
    args = parser.parse_args(argv)

    paths = lesson_paths(args.dir)
    if not paths:
        print(f"no lesson notebooks in {args.dir}", file=sys.stderr)
        return 1
    notebooks = [nbformat.read(p, as_version=4) for p in paths]
    entries = [(p.name, lesson_title(nb)) for p, nb in zip(paths, notebooks)]

    stale = []
    for i, (path, nb) in enumerate(zip(paths, notebooks)):
        prev = entries[i - 1] if i > 0 else None
        nxt = entries[i + 1] if i + 1 < len(entries) else None
        refresh(nb, nav_source(prev, nxt))
        clean(nb)
        nbformat.validate(nb)
        text = nbformat.writes(nb) + "\n"
        if path.read_text(encoding="utf-8") != text:
            stale.append(path)
            if not args.check:
                path.write_text(text, encoding="utf-8")

    if args.dir == NB_DIR:
        readme = README.read_text(encoding="utf-8")
        fresh = refresh_readme(readme, readme_table(paths, notebooks))
        if fresh != readme:
            stale.append(README)
            if not args.check:
                README.write_text(fresh, encoding="utf-8")

    verb = "would change" if args.check else "updated"
    for path in stale:
        print(f"{verb}: {path.relative_to(ROOT) if path.is_relative_to(ROOT) else path}")
    if not stale:
        print(f"navigation up to date in {len(paths)} notebooks")
    return 1 if (args.check and stale) else 0


if __name__ == "__main__":
    sys.exit(main())
