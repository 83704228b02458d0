"""``grader book OUT [--execute]``: the course's documentation site, built with Sphinx, myst-nb and
sphinx-book-theme, that works offline.

    build_book(out, executed_lessons, exercises_dir)   # -> out/index.html

:func:`build_book` stages a source tree in a temporary folder and runs Sphinx on it (configuration:
``docs/conf.py``, copied in):

- ``index.md``: the README (its links to notebooks/ pointed at lessons/, its links to exercises made
  downloads), with the toctrees: the documentation (the course, for students, for instructors, nbgrader
  courses, the threat model, for developers), then the lessons in course order;
- ``docs/*.md``: the documentation pages (``../README.md`` becomes ``../index.md``), ``docs/cost.md`` among
  them: what grading costs, written with ``docs/cost.json`` by ``benchmarks/profile_grading.py --record``
  (:mod:`grader.cost`);
- ``lessons/NN-slug.ipynb``: every lesson of ``notebooks/``, executed where ``executed_lessons`` has it (as
  stored otherwise), without its ``<!--NAVIGATION-->`` cells (the sidebar and the previous/next links replace
  them), outputs reduced to data (:class:`course.safe_notebook.SafeNotebook`), and under its title a line with
  its exercise's download and its launch links (:mod:`course.launch`);
- ``exercises/NN-slug.ipynb``: the notebooks of ``exercises_dir`` (pass the released student versions), which
  Sphinx copies as downloads.

Sphinx runs with warnings as errors: a link to a page, a heading or a file that does not exist fails the
build with a :class:`BookError` naming the staged file (``docs/students.md:12: ...``).  myst-nb never executes
anything (``nb_execution_mode = "off"``): ``grader book --execute`` first runs every lesson against the course's
4-engine cluster and the n-gram mirror, as ``grader demo`` does.
"""

from __future__ import annotations

import re
import shutil
import sys
import tempfile
from pathlib import Path

import nbformat

from course.launch import LaunchConfig, lesson_links, load
from course.safe_notebook import SafeNotebook
from course.site import MD_LINK, is_navigation

ROOT = Path(__file__).resolve().parents[1]
# the documentation pages in the index's order (docs/course.md first)
DOC_PAGES = ("course", "students", "instructors", "cost", "nbgrader-courses", "threat-model", "developers")


# a terminal's operating-system command (ESC ] ... BEL or ESC \\), e.g. an OSC 8 hyperlink: Pygments' traceback lexer
# fails on it, and the page has nothing to show for it
OSC = re.compile(r"\x1b\][^\x07\x1b]*(?:\x07|\x1b\\)?")


class BookError(RuntimeError):
    """Sphinx did not build the site: a broken internal link, a page it could not read, ... (the message
    holds its warnings, each naming the staged file)."""


def build_book(out: str | Path, executed_lessons: dict[str, nbformat.NotebookNode] | None,
               exercises_dir: str | Path, *, launch: LaunchConfig | None = None, docs: str | Path | None = None,
               notebooks: str | Path | None = None) -> Path:
    """Build the site into ``out`` (see the module); return out/index.html.  ``executed_lessons`` maps lesson
    names (``NN-slug``, with or without ``.ipynb``) to executed notebooks that replace the stored ones;
    ``launch``: where the launch links open (default course/launch.toml); ``docs`` and ``notebooks``: the
    folders to take the pages and lessons from (default: this clone's)."""
    out = Path(out)
    with tempfile.TemporaryDirectory(prefix="book-") as tmp:
        src = Path(tmp) / "src"
        stage(src, executed_lessons or {}, Path(exercises_dir), launch=launch or load(),
              docs=Path(docs) if docs else ROOT / "docs",
              notebooks=Path(notebooks) if notebooks else ROOT / "notebooks")
        run_sphinx(src, Path(tmp) / "html", Path(tmp) / "doctrees")  # myst-nb writes beside its output folder:
        shutil.copytree(Path(tmp) / "html", out, dirs_exist_ok=True)  # built in tmp, only the site reaches out
    return out / "index.html"


def stage(src: Path, executed: dict, exercises_dir: Path, *, launch: LaunchConfig, docs: Path,
          notebooks: Path) -> None:
    """Write the Sphinx source tree of the site to ``src`` (see the module)."""
    lessons = {p.stem: p for p in sorted(notebooks.glob("[0-9][0-9]-*.ipynb"))}
    executed = {Path(str(k)).name.removesuffix(".ipynb"): nb for k, nb in executed.items()}
    unknown = sorted(set(executed) - set(lessons))
    if unknown:
        raise ValueError(f"executed lessons {unknown} are not lessons of {notebooks}")
    exercises = {p.stem for p in exercises_dir.glob("[0-9][0-9]-*.ipynb")} if exercises_dir.is_dir() else set()
    (src / "docs").mkdir(parents=True)
    (src / "lessons").mkdir()
    (src / "exercises").mkdir()
    shutil.copyfile(docs / "conf.py", src / "conf.py")
    for name in sorted(exercises):
        shutil.copyfile(exercises_dir / f"{name}.ipynb", src / "exercises" / f"{name}.ipynb")
    for page in sorted(docs.glob("*.md")):
        text = rewrite_links(page.read_text(encoding="utf-8"), exercises, prefix="../", lessons=set(lessons))
        (src / "docs" / page.name).write_text(text, encoding="utf-8")
    for name, path in lessons.items():
        nb = executed.get(name) or nbformat.read(path, as_version=4)
        nbformat.write(book_lesson(nb, name, name in exercises, launch, exercises), src / "lessons" / f"{name}.ipynb")
    readme = rewrite_links((ROOT / "README.md").read_text(encoding="utf-8"), exercises, prefix="",
                           lessons=set(lessons))
    pages = [p for p in DOC_PAGES if (src / "docs" / f"{p}.md").is_file()]
    (src / "index.md").write_text(readme + index_toctrees(pages, list(lessons)), encoding="utf-8")


def index_toctrees(pages: list[str], lessons: list[str]) -> str:
    """The index's navigation: the documentation pages, then the lessons (hidden: the sidebar shows them)."""
    doc_entries = "\n".join(f"docs/{p}" for p in pages)
    lesson_entries = "\n".join(f"lessons/{name}" for name in lessons)
    return (f"\n\n```{{toctree}}\n:caption: Documentation\n:hidden:\n\n{doc_entries}\n```\n\n"
            f"```{{toctree}}\n:caption: Lessons\n:hidden:\n\n{lesson_entries}\n```\n")


def rewrite_links(markdown: str, exercises: set[str], *, prefix: str, lessons: set[str] | None = None) -> str:
    """The markdown's links pointed into the staged tree, from a page ``prefix`` below its root ("" for the
    index, "../" for docs/ and lessons/): the README becomes the index, notebooks/ lessons/ (its text alone for
    a lesson not in ``lessons``, if given), an exercise a download (its text alone if it was not released), a
    Jupyter anchor of a lesson (``#A-heading``) the site's (``#a-heading``).  Other links are left as written:
    Sphinx checks them."""
    def replace(m: re.Match) -> str:
        text, target = m["text"], m["target"]
        path, sep, fragment = target.partition("#")
        if re.fullmatch(r"(\.\./)*README\.md", path):
            return f"[{text}]({prefix}index.md{sep}{fragment})"
        ex = re.fullmatch(r"(?:\.\./)*exercises/(\d\d-[a-z0-9-]+)\.ipynb", path)
        if ex:
            return f"{{download}}`{text} <{prefix}exercises/{ex[1]}.ipynb>`" if ex[1] in exercises else text
        lesson = re.fullmatch(r"(?:\.\./)*notebooks/(\d\d-[a-z0-9-]+)\.ipynb", path)
        if lesson and lessons is not None and lesson[1] not in lessons:
            return text
        if lesson:
            path = f"{prefix}lessons/{lesson[1]}.ipynb"
        if path.endswith(".ipynb") and fragment:
            fragment = heading_slug(fragment)
        return f"[{text}]({path}{sep}{fragment})"

    return MD_LINK.sub(replace, markdown)


def heading_slug(anchor: str) -> str:
    """A Jupyter heading anchor (the heading's text, spaces as dashes) as MyST's heading anchor."""
    return re.sub(r"[^\w\- ]", "", anchor.lower()).replace(" ", "-")


def book_lesson(nb, name: str, has_exercise: bool, launch: LaunchConfig, exercises: set[str]):
    """A copy of the lesson for the site: no navigation cells, outputs reduced to data, links pointed into the
    site, and the exercise download and launch links under its title."""
    nb = nbformat.from_dict(nb)  # a deep copy: the caller's notebook is left as it is
    nb, _ = SafeNotebook().preprocess(nb, {})
    nb.cells = [c for c in nb.cells if not is_navigation(c)]
    for cell in nb.cells:
        if cell.cell_type == "markdown":
            cell.source = rewrite_links(cell.source, exercises, prefix="../")
        for output in cell.get("outputs", []):  # colours stay; other terminal sequences (OSC 8 links) go
            if "traceback" in output:
                output.traceback = [OSC.sub("", line) for line in output.traceback]
            if isinstance(output.get("text"), str):
                output.text = OSC.sub("", output.text)
    links = title_line(launch, name, has_exercise)
    first = next((c for c in nb.cells if c.cell_type == "markdown"), None)
    if first is not None and re.search(r"^# ", first.source, re.M):
        first.source = re.sub(r"^(# .*)$", lambda m: f"{m[1]}\n\n{links}\n", first.source, count=1, flags=re.M)
    else:
        nb.cells.insert(0, nbformat.v4.new_markdown_cell(links))
    return nb


def title_line(cfg: LaunchConfig, name: str, has_exercise: bool) -> str:
    """The line under a lesson's title: its exercise to download, and where to open the lesson and exercise."""
    links = [f"{{download}}`Download the exercise ({name}.ipynb) <../exercises/{name}.ipynb>`"] if has_exercise else []
    links += [f"[{label}]({url})" for _, label, url in lesson_links(cfg, name, has_exercise)]
    return " · ".join(links)


def run_sphinx(src: Path, out: Path, doctrees: Path) -> None:
    """Build ``src`` into ``out`` with Sphinx's HTML builder, warnings as errors; BookError with the
    warnings (the staged files named relative to ``src``) if it failed."""
    from sphinx.cmd.build import build_main

    warnings = doctrees.parent / "warnings.txt"
    code = build_main(["-b", "html", "-q", "-W", "--keep-going", "-d", str(doctrees), "-w", str(warnings),
                       str(src), str(out)])
    text = warnings.read_text(encoding="utf-8") if warnings.is_file() else ""
    text = text.replace(f"{src}/", "").strip()
    if code != 0:
        raise BookError(f"the site did not build (Sphinx exit code {code}):\n{text or '(no warning written)'}")
    for macros in out.glob("_static/*webpack-macros.html"):  # the theme's template macros, copied as static files:
        macros.unlink()  # no page of the site, and one that would load nothing that exists


def execute_lessons(notebooks: Path, workdir: Path) -> dict:
    """Every lesson of ``notebooks`` executed against the course's 4-engine cluster and the n-gram mirror, by
    name (as ``grader demo`` runs them)."""
    from .lessons import executed_lessons

    executed = {}
    for path, nb, seconds in executed_lessons(notebooks, workdir / "ipython"):
        executed[path.stem] = nb
        print(f"  executed {path.name} in {seconds:.1f} s", flush=True)
    return executed


def main(*, out: str | Path, execute: bool = False) -> int:
    """``grader book OUT [--execute]``: release the exercises, (with ``execute``) run every lesson, build the
    site into OUT.  Exit code 0, or 1 if a lesson or the build failed."""
    from nbclient.exceptions import CellExecutionError

    from . import release
    from .lessons import LessonError

    out = Path(out)
    with tempfile.TemporaryDirectory(prefix="book-run-") as tmp:
        released = release.main(source=ROOT / "exercises", out=Path(tmp) / "release")
        if released != 0:
            return released
        try:
            executed = execute_lessons(ROOT / "notebooks", Path(tmp)) if execute else None
            index = build_book(out, executed, Path(tmp) / "release")
        except (LessonError, CellExecutionError, BookError) as e:
            print(f"grader book: {e}", file=sys.stderr)
            return 1
    print(f"the course's site: {index}")
    return 0
