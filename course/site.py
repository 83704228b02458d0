"""The course as a static site that works offline: an index and a page per executed lesson.

    build_site(executed, out, exercises_dir)   # -> out/index.html

``executed`` maps lesson names (``NN-slug``, with or without ``.ipynb``) to executed notebooks, or is a folder of
executed ``NN-slug.ipynb`` files.  The site holds exactly those lessons, in course order (their NN- prefix):

- ``out/index.html``: the course title and, per lesson, its title (its first ``# `` heading), its "What you'll
  learn" list, and links to its page and its exercise;
- ``out/NN-slug.html``: nbconvert's HTML of the executed notebook (figures embedded as data URIs, as nbconvert
  writes them), with a bar at top and bottom linking the previous lesson, the index and the next lesson.  The
  notebook's own ``<!--NAVIGATION-->`` cells are left out (the bars replace them);
- ``out/exercises/NN-slug.ipynb``: the exercise notebooks copied from ``exercises_dir`` as they are (pass the
  released student versions), for the lessons that have one.

Every lesson and exercise also gets launch links (:mod:`course.launch`, set in ``course/launch.toml``): open it
on the course's JupyterHub (nbgitpuller) or on a BinderHub, from the student repository ``grader publish`` writes.

Lessons' own markdown links are rewritten to the site: ``../exercises/NN.ipynb`` -> ``exercises/NN.ipynb``,
``NN-other.ipynb`` -> ``NN-other.html``, ``../README.md#the-notebooks`` -> ``index.html``; a link to a lesson or
exercise that is not part of the site is left as its text, so every link resolves offline.  The pages load
nothing from the network: nbconvert's require.js, MathJax, mermaid and widget-manager scripts (from CDNs) are left
out, and display math (``$$...$$``) is drawn as inline SVG by matplotlib's mathtext.

Every page is safe to open whatever a notebook holds (the feedback pages of ``grader feedback`` are written by
the same :func:`offline_exporter`): outputs reduced to data (:class:`course.safe_notebook.SafeNotebook`), markdown
and HTML sanitised, and a Content-Security-Policy first in ``<head>`` (:mod:`course.safe_html`).
"""

from __future__ import annotations

import html
import io
import re
import shutil
from pathlib import Path

import jinja2
import nbformat
from nbconvert import HTMLExporter
from nbconvert.filters import markdown2html

from .launch import LaunchConfig, lesson_links, load
from .safe_html import csp_meta, sanitize_html
from .safe_notebook import SafeNotebook

COURSE_TITLE = "Going parallel with ipyparallel"
LESSON_NAME = re.compile(r"^\d\d-[a-z0-9-]+$")
NAV_MARKER = "<!--NAVIGATION-->"
# [text](target) in markdown, the target without spaces or parentheses (all the lessons' links are so)
MD_LINK = re.compile(r"(?<!!)\[(?P<text>[^\]]*)\]\((?P<target>[^()\s]+)\)")
DISPLAY_MATH = re.compile(r"\$\$(?P<tex>.+?)\$\$", re.S)

TEMPLATE = "course_offline.html.j2"
MATH_PLACEHOLDER = '<div class="math-display site-math-{n}"></div>'
# nbconvert's lab template with the Content-Security-Policy first in <head>, without what it loads from CDNs
# (require.js, MathJax, mermaid, the widget manager), and with the site's bars where resources give one
TEMPLATE_SOURCE = """\
{%- extends 'lab/index.html.j2' -%}
{%- block html_head -%}""" + csp_meta() + """{{ super() }}{%- endblock html_head -%}
{%- block html_head_js -%}{%- endblock html_head_js -%}
{%- block jupyter_widgets -%}{%- endblock jupyter_widgets -%}
{%- block html_head_js_mathjax -%}{%- endblock html_head_js_mathjax -%}
{%- block html_head_js_mermaidjs -%}{%- endblock html_head_js_mermaidjs -%}
{%- block extra_css -%}{%- if resources.site_css %}<style>{{ resources.site_css }}</style>{% endif -%}
{%- endblock extra_css -%}
{%- block body_header -%}{{ super() }}{{ (resources.site_nav or '') | replace('CLASS', 'site-nav site-nav-top') }}
{{- resources.site_launch or '' }}
{%- endblock body_header -%}
{%- block body_footer -%}{{ (resources.site_nav or '') | replace('CLASS', 'site-nav site-nav-bottom') }}{{ super() }}
{%- endblock body_footer -%}
"""
CSS = """
.site-nav { display: flex; justify-content: space-between; gap: 1em; max-width: 1100px; margin: 0.5em auto;
  padding: 0.6em 1em; font-family: system-ui, sans-serif; font-size: 15px; background: #f3f6fa;
  border: 1px solid #d5dde8; border-radius: 6px; }
.site-nav a { color: #1a5fb4; text-decoration: none; } .site-nav a:hover { text-decoration: underline; }
.site-nav .prev, .site-nav .next { flex: 1; } .site-nav .next { text-align: right; }
.site-nav .index { flex: 0 0 auto; font-weight: 600; }
.math-display { text-align: center; margin: 1em 0; overflow-x: auto; }
.site-launch { max-width: 1100px; margin: 0.3em auto; padding: 0 1em; font-family: system-ui, sans-serif;
  font-size: 14px; } .site-launch a { color: #1a5fb4; margin-right: 1.2em; }
"""
INDEX_CSS = """
body { font-family: system-ui, sans-serif; max-width: 900px; margin: 2em auto; padding: 0 1em; line-height: 1.5;
  color: #222; }
h1 { border-bottom: 2px solid #d5dde8; padding-bottom: 0.3em; }
ol.lessons > li { margin-bottom: 1.5em; } ol.lessons h2 { font-size: 1.25em; margin: 0 0 0.3em; }
.links a { margin-right: 1.2em; } a { color: #1a5fb4; } code { background: #f3f6fa; padding: 0 0.2em; }
"""


def build_site(executed: dict[str, nbformat.NotebookNode] | Path, out: Path, exercises_dir: Path,
               title: str = COURSE_TITLE, launch: LaunchConfig | None = None) -> Path:
    """Write the site for the ``executed`` lessons to ``out`` (see the module's docstring); return out/index.html.
    ``launch``: where the launch links open (default: course/launch.toml)."""
    launch = launch or load()
    lessons = _lessons(executed)
    out, exercises_dir = Path(out), Path(exercises_dir)
    out.mkdir(parents=True, exist_ok=True)
    exercises = {name for name in lessons if (exercises_dir / f"{name}.ipynb").is_file()}
    if exercises:
        (out / "exercises").mkdir(exist_ok=True)
    for name in sorted(exercises):
        shutil.copyfile(exercises_dir / f"{name}.ipynb", out / "exercises" / f"{name}.ipynb")

    names = list(lessons)
    titles = {name: lesson_title(nb) for name, nb in lessons.items()}
    exporter = offline_exporter()
    for i, name in enumerate(names):
        nb, math = site_notebook(lessons[name], set(names), exercises)
        prev = names[i - 1] if i > 0 else None
        nxt = names[i + 1] if i + 1 < len(names) else None
        resources = {"metadata": {"name": titles[name]}, "site_css": CSS,
                     "site_nav": nav_bar(prev and (prev, titles[prev]), nxt and (nxt, titles[nxt])),
                     "site_launch": f'<p class="site-launch">{launch_links(launch, name, name in exercises)}</p>'}
        body, _ = exporter.from_notebook_node(nb, resources=resources)
        (out / f"{name}.html").write_text(put_math(body, math), encoding="utf-8")

    index = out / "index.html"
    index.write_text(index_page(title, [(name, titles[name], learn_list(lessons[name]), name in exercises)
                                        for name in names], launch), encoding="utf-8")
    return index


def offline_exporter(preprocessors=(), **kwargs) -> HTMLExporter:
    """nbconvert's HTMLExporter (lab template, figures as data URIs) for pages that load nothing from the network
    (no require.js, MathJax, mermaid or widget manager from a CDN) and run nothing a notebook holds:
    :class:`~course.safe_notebook.SafeNotebook` reduces the outputs to valid data before ``preprocessors`` run
    (so the notebook is validated once, at the end: a kernel's forged message cannot stop the export); markdown,
    HTML outputs and raw cells go through :func:`~course.safe_html.sanitize_html` (nbconvert's ``sanitize_html``
    with it as the ``clean_html`` filter); every page starts with :func:`~course.safe_html.csp_meta`.
    ``kwargs`` go to HTMLExporter."""
    return HTMLExporter(extra_loaders=[jinja2.DictLoader({TEMPLATE: TEMPLATE_SOURCE})], template_file=TEMPLATE,
                        preprocessors=[SafeNotebook, *preprocessors], optimistic_validation=True,
                        sanitize_html=True, filters={"clean_html": sanitize_html}, **kwargs)


def lesson_title(nb) -> str:
    """The ``# `` heading of the lesson's first markdown cell (where scripts/nav.py also reads it)."""
    for cell in nb.cells:
        if cell.cell_type == "markdown":
            for line in cell.source.splitlines():
                if line.startswith("# "):
                    return line[2:].strip()
            break
    raise ValueError("the first markdown cell has no '# Title' line")


def learn_list(nb) -> str:
    """The markdown bullet list under "What you'll learn" in the lesson's first cells ('' if there is none)."""
    for cell in nb.cells:
        if cell.cell_type != "markdown" or "what you'll learn" not in cell.source.lower():
            continue
        lines = cell.source.splitlines()
        start = next(i for i, line in enumerate(lines) if "what you'll learn" in line.lower())
        bullets: list[str] = []
        for line in lines[start + 1:]:
            if re.match(r"\s*[-*] ", line) or (bullets and line.startswith("  ") and line.strip()):
                bullets.append(line)
            elif bullets and line.strip():
                break
        return "\n".join(bullets)
    return ""


def is_navigation(cell) -> bool:
    """Whether ``cell`` is one of a lesson's navigation cells (scripts/nav.py writes them)."""
    return cell.cell_type == "markdown" and cell.source.lstrip().startswith(NAV_MARKER)


def site_notebook(nb, lessons: set[str], exercises: set[str]):
    """A copy of the lesson without its navigation cells and with its links pointing into the site, and its
    display math drawn: (notebook, {placeholder: math HTML}).  The math is our own SVG, which the sanitiser
    would drop: the cells hold a placeholder each, and :func:`put_math` puts the math in the written page.
    (Widgets are shown by their text: :class:`~course.safe_notebook.SafeNotebook` drops their views.)"""
    nb = nbformat.from_dict(nb)  # a deep copy: the caller's notebook is left as it is
    nb.cells = [c for c in nb.cells if not is_navigation(c)]
    math: dict[str, str] = {}

    def placeholder(m: re.Match) -> str:
        key = MATH_PLACEHOLDER.format(n=len(math) + 1)
        math[key] = _math_html(m["tex"])
        return f"\n\n{key}\n\n"

    for cell in nb.cells:
        if cell.cell_type == "markdown":
            cell.source = DISPLAY_MATH.sub(placeholder, rewrite_links(cell.source, lessons, exercises))
    return nb, math


def put_math(page: str, math: dict[str, str]) -> str:
    """The page with each math placeholder (as the sanitiser left it) replaced by its math."""
    for key, content in math.items():
        if key not in page:
            raise RuntimeError(f"the page lost the placeholder of its display math {key!r}")
        page = page.replace(key, content, 1)
    return page


def rewrite_links(markdown: str, lessons: set[str], exercises: set[str]) -> str:
    """The markdown's links to lessons, exercises and the README pointed at the site's pages (see the module)."""
    def site_target(target: str) -> str | None:
        path, sep, fragment = target.partition("#")
        if re.fullmatch(r"(\.\./)?README\.md", path):
            return "index.html"
        m = re.fullmatch(r"\.\./exercises/(\d\d-[a-z0-9-]+)\.ipynb", path)
        if m:
            return f"exercises/{m[1]}.ipynb" if m[1] in exercises else None
        m = re.fullmatch(r"(?:\./|\.\./notebooks/)?(\d\d-[a-z0-9-]+)\.ipynb", path)
        if m:
            return f"{m[1]}.html{sep}{fragment}" if m[1] in lessons else None
        return target

    def replace(m: re.Match) -> str:
        target = site_target(m["target"])
        return m["text"] if target is None else f"[{m['text']}]({target})"

    return MD_LINK.sub(replace, markdown)


def nav_bar(prev: tuple[str, str] | None, nxt: tuple[str, str] | None) -> str:
    """The bar of a lesson page: previous lesson, index, next lesson (``CLASS`` is the template's to fill)."""
    def link(name_title, cls, before="", after=""):
        if not name_title:
            return f'<span class="{cls}"></span>'
        name, title = name_title
        return f'<a class="{cls}" rel="{cls}" href="{name}.html">{before}{html.escape(title)}{after}</a>'

    return (f'<nav class="CLASS">{link(prev, "prev", "← ")}<a class="index" href="index.html">Index</a>'
            f'{link(nxt, "next", after=" →")}</nav>')


def launch_links(cfg: LaunchConfig, name: str, has_exercise: bool) -> str:
    """Links that open the lesson ``name`` (and its exercise) on the JupyterHub and on Binder."""
    return " ".join(f'<a class="launch-{kind}" href="{html.escape(url)}">{label}</a>'
                    for kind, label, url in lesson_links(cfg, name, has_exercise))


def index_page(title: str, lessons: list[tuple[str, str, str, bool]], launch: LaunchConfig | None = None) -> str:
    """The index: the course title and, per (name, title, learn-list markdown, has exercise), a lesson's entry."""
    launch = launch or load()
    items = []
    for name, lesson, learn, has_exercise in lessons:
        links = [f'<a href="{name}.html">Read the lesson</a>']
        if has_exercise:
            links.append(f'<a href="exercises/{name}.ipynb" download>Exercise ({name}.ipynb)</a>')
        links.append(launch_links(launch, name, has_exercise))
        learn_html = f"<p>What you'll learn:</p>\n{sanitize_html(markdown2html(learn))}" if learn else ""
        items.append(f'<li id="{name}">\n<h2><a href="{name}.html">{html.escape(lesson)}</a></h2>\n{learn_html}\n'
                     f'<p class="links">{" ".join(links)}</p>\n</li>')
    body = "\n".join(items)
    return (f'<!DOCTYPE html>\n<html lang="en">\n<head>\n{csp_meta()}\n<meta charset="utf-8">\n'
            f'<meta name="viewport" content="width=device-width, initial-scale=1.0">\n'
            f"<title>{html.escape(title)}</title>\n<style>{INDEX_CSS}</style>\n</head>\n<body>\n"
            f"<h1>{html.escape(title)}</h1>\n<ol class=\"lessons\">\n{body}\n</ol>\n</body>\n</html>\n")


def _lessons(executed) -> dict:
    """{NN-slug: notebook} in course order, from a mapping or a folder of executed notebooks."""
    if isinstance(executed, (str, Path)):
        folder = Path(executed)
        executed = {p.stem: nbformat.read(p, as_version=4) for p in folder.glob("[0-9][0-9]-*.ipynb")}
    lessons = {}
    for key, nb in executed.items():
        name = Path(str(key)).name.removesuffix(".ipynb")
        if not LESSON_NAME.match(name):
            raise ValueError(f"{key!r}: not a lesson name (NN-slug)")
        lessons[name] = nb
    return dict(sorted(lessons.items()))


def _math_html(tex: str) -> str:
    """Display math as one line of inline SVG (matplotlib's mathtext), or the TeX itself if mathtext cannot."""
    tex = " ".join(tex.split())
    try:
        from matplotlib.figure import Figure

        fig = Figure(figsize=(0.01, 0.01))
        fig.text(0, 0, f"${tex}$", fontsize=15)
        buf = io.StringIO()
        fig.savefig(buf, format="svg", bbox_inches="tight", pad_inches=0.05, transparent=True)
        svg = buf.getvalue()
        svg = svg[svg.index("<svg"):]
        svg = re.sub(r"<metadata>.*?</metadata>", "", svg, flags=re.S)
        svg = svg.replace("<svg ", f'<svg role="img" aria-label="{html.escape(tex)}" ', 1)
        content = " ".join(svg.split())
    except Exception:  # TeX mathtext does not know: show it as it is written
        content = f"<code>{html.escape(tex)}</code>"
    return f'<div class="math-display">{content}</div>'
