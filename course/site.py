"""What the course's pages are made of: the exporter of pages that load nothing and run nothing, and how a lesson
names itself.

- :func:`offline_exporter`: nbconvert's HTMLExporter for pages that are safe to open whatever a notebook holds
  (``grader feedback``, the demo's executed tutorials): outputs reduced to data
  (:class:`course.safe_notebook.SafeNotebook`), markdown and HTML sanitised, a Content-Security-Policy first in
  ``<head>`` (:mod:`course.safe_html`), nothing from a CDN.
- :func:`lesson_title`, :func:`is_navigation` and :data:`MD_LINK`: a lesson's title, its navigation cells
  (scripts/nav.py writes them) and its markdown links, as the documentation site (``grader book``, which is the
  course's site) and scripts/nav.py read them.
"""

from __future__ import annotations

import re

import jinja2
from nbconvert import HTMLExporter

from .safe_html import csp_meta, sanitize_html
from .safe_notebook import SafeNotebook

NAV_MARKER = "<!--NAVIGATION-->"
# [text](target) in markdown, the target without spaces or parentheses (all the lessons' links are so)
MD_LINK = re.compile(r"(?<!!)\[(?P<text>[^\]]*)\]\((?P<target>[^()\s]+)\)")

TEMPLATE = "course_offline.html.j2"
# nbconvert's lab template with the Content-Security-Policy first in <head>, without what it loads from CDNs
# (require.js, MathJax, mermaid, the widget manager)
TEMPLATE_SOURCE = """\
{%- extends 'lab/index.html.j2' -%}
{%- block html_head -%}""" + csp_meta() + """{{ super() }}{%- endblock html_head -%}
{%- block html_head_js -%}{%- endblock html_head_js -%}
{%- block jupyter_widgets -%}{%- endblock jupyter_widgets -%}
{%- block html_head_js_mathjax -%}{%- endblock html_head_js_mathjax -%}
{%- block html_head_js_mermaidjs -%}{%- endblock html_head_js_mermaidjs -%}
"""


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


def is_navigation(cell) -> bool:
    """Whether ``cell`` is one of a lesson's navigation cells (scripts/nav.py writes them)."""
    return cell.cell_type == "markdown" and cell.source.lstrip().startswith(NAV_MARKER)
