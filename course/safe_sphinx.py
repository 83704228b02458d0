"""The documentation site shows what a notebook holds, never runs it: a Sphinx extension (``docs/conf.py`` loads it).

MyST passes HTML written in markdown through as it is, and myst-nb writes a cell's HTML output into the page as
it is: a lesson's markdown or outputs could run script in the browser of whoever opens the site.  This extension
holds the site to what :mod:`course.safe_html` holds every other page the project writes to:

- every raw HTML node (HTML in markdown, an HTML output, a raw cell) is cleaned by
  :func:`course.safe_html.sanitize_html`, except a fragment made only of allowed tags with no attribute
  (``<details>``, ``</details>``, ``<summary>``, ``<br>``, ...) and text, which MyST splits out of a block written
  around markdown (``<details><summary>Solution</summary>``, then the markdown of a folded solution, then
  ``</details>``): it cannot run anything, and cleaning it alone would close the block before its markdown;
- a link is kept only to a URL :func:`course.safe_html.safe_url` allows (http(s), mailto, a relative path), an
  image only from its own folder or ``data:image/...``; otherwise the link is left as its text, the image is
  dropped.

It runs twice: when a page has been read (``doctree-read``, before Sphinx's collectors copy its title for the
navigation and its text for the search) and when every post-transform has run (``doctree-resolved``: myst-nb
picks an output's MIME type in one), just before the page is written.
"""

from __future__ import annotations

import re

from docutils import nodes

from course.safe_html import TAGS, safe_url, sanitize_html

# fragments MyST splits off a block of HTML around markdown: allowed tags with no attribute (but details' open), and
# text between them (no markup: no "<" or ">")
_NAMES = "|".join(sorted(TAGS - {"a", "img"}, key=len, reverse=True))  # longest first: "br" before "b"
_BARE = re.compile(rf"(?:</?(?:{_NAMES})(?:\s+open)?\s*/?>|[^<>]+)+", re.I)


def clean(doctree: nodes.Node) -> None:
    """Sanitise the raw HTML, links and images of ``doctree`` in place (see the module)."""
    for raw in list(doctree.findall(nodes.raw)):
        if "html" not in raw.get("format", "").split():
            raw.parent.remove(raw)  # LaTeX and the like: no page of this site shows them
            continue
        text = raw.astext()
        if not _BARE.fullmatch(text):
            raw.replace_self(nodes.raw("", sanitize_html(text), format="html"))
    for ref in list(doctree.findall(nodes.reference)):
        uri = ref.get("refuri")
        if uri is not None and not safe_url(uri):
            ref.replace_self(nodes.inline("", "", *ref.children))
    for image in list(doctree.findall(nodes.image)):
        if not safe_url(image.get("uri", ""), image=True):
            image.parent.remove(image)


def _clean_read(app, doctree) -> None:
    clean(doctree)


def _clean_resolved(app, doctree, docname) -> None:
    clean(doctree)


def setup(app) -> dict:
    app.connect("doctree-read", _clean_read, priority=100)  # before the collectors copy its title and its text
    app.connect("doctree-resolved", _clean_resolved)
    return {"parallel_read_safe": True, "parallel_write_safe": True}
