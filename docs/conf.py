"""Sphinx configuration of the course's documentation site (``grader book OUT``, see grader/book.py).

``grader book`` copies this file into the source tree it stages (index.md: the README; docs/*.md; the lessons
under lessons/; the released exercises under exercises/, as downloads) and builds it with myst-nb.  The site
works offline: the theme's own scripts, styles and fonts are copied into it, the search is Sphinx's own, and
math is drawn at build time as inline SVG by matplotlib's mathtext (no MathJax from a CDN).  What a lesson's
markdown or outputs hold is sanitised as on every other page the project writes (course/safe_sphinx.py).
"""

from __future__ import annotations

import html
import io
import os
import re

project = "Going parallel with ipyparallel"
author = "The course's authors"
copyright = "the course's authors, BSD-3-Clause"

# The course's own repository (the "repository" button and "edit this page" links): set yours here or in
# the environment.  The launch links of the lessons pull the *student* repository (course/launch.toml).
REPOSITORY = os.environ.get("COURSE_REPOSITORY_URL", "https://github.com/going-parallel/going-parallel")

extensions = ["myst_nb", "course.safe_sphinx"]  # the second: HTML from a notebook is shown, never run
source_suffix = {".md": "myst-nb", ".ipynb": "myst-nb"}
root_doc = "index"
exclude_patterns = ["_build", "exercises/**", "**.ipynb_checkpoints"]

# The lessons come executed (or as stored): never run them here.
nb_execution_mode = "off"
nb_ipywidgets_js: dict = {}  # no require.js or widget manager from a CDN: widgets show as their text
nb_merge_streams = True
myst_enable_extensions = ["dollarmath", "colon_fence"]
myst_heading_anchors = 3  # README.md#the-notebooks, lesson.ipynb#a-heading
# A widget's view has no HTML here: its text/plain is shown (see nb_ipywidgets_js)
suppress_warnings = ["mystnb.unknown_mime_type", "myst.header"]  # and lessons may skip a heading level

html_theme = "sphinx_book_theme"
html_title = project
html_copy_source = False
html_show_sourcelink = False
html_last_updated_fmt = None
# Sphinx's search works from disk (searchindex.js is a script), but the summary under each result is fetched from
# its page, which a browser refuses for file:// pages: the results are listed by title
html_show_search_summary = False
html_theme_options = {
    "repository_url": REPOSITORY,
    "repository_branch": "main",
    "path_to_docs": "docs",
    "use_repository_button": True,
    "use_download_button": False,
    "use_fullscreen_button": False,
    "show_navbar_depth": 1,
    "show_toc_level": 2,
    "home_page_in_toc": True,
    "navigation_with_keys": False,
    "search_bar_text": "Search the course…",
}
html_math_renderer = "mathtext"
# the theme mode when the reader chose none (without it the theme logs a console error on every page)
html_context = {"default_mode": "auto"}


def _math_svg(tex: str, display: bool) -> str:
    """Math as inline SVG drawn by matplotlib's mathtext, or the TeX in <code> where mathtext cannot draw it."""
    tex = " ".join(tex.split())
    try:
        from matplotlib.figure import Figure

        fig = Figure(figsize=(0.01, 0.01))
        fig.text(0, 0, f"${tex}$", fontsize=15 if display else 12)
        buf = io.StringIO()
        fig.savefig(buf, format="svg", bbox_inches="tight", pad_inches=0.03, transparent=True)
        svg = buf.getvalue()
        svg = re.sub(r"<metadata>.*?</metadata>", "", svg[svg.index("<svg"):], flags=re.S)
        content = " ".join(svg.replace("<svg ", f'<svg role="img" aria-label="{html.escape(tex)}" ', 1).split())
    except Exception:  # mathtext does not know this TeX: show it as written
        content = f"<code>{html.escape(tex)}</code>"
    return f'<div class="math-display">{content}</div>' if display else f'<span class="math">{content}</span>'


def _visit_inline(self, node) -> None:
    from docutils import nodes

    self.body.append(_math_svg(node.astext(), display=False))
    raise nodes.SkipNode


def _visit_block(self, node) -> None:
    from docutils import nodes

    self.body.append(_math_svg(node.astext(), display=True))
    raise nodes.SkipNode


def setup(app) -> None:
    app.add_html_math_renderer("mathtext", (_visit_inline, None), (_visit_block, None))
