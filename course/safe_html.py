"""Pages that are safe to open: whatever a notebook or a submission holds is shown, never run.

Two layers, used by every page the project writes (``grader feedback``, ``grader report``, the demo's executed
lessons; the documentation site holds to the first through :mod:`course.safe_sphinx`):

- :func:`sanitize_html` cleans an HTML fragment (rendered markdown, an HTML output, a raw cell) against an
  allow-list with nh3 (the ammonia sanitiser): formatting, tables, lists, code, headings, links and images stay;
  ``<script>``, ``<style>``, ``<iframe>``, ``<object>``, ``<embed>``, ``<form>``, ``<meta>``, ``<base>``, ``<svg>``
  and ``<math>`` go (script, style, svg and math with their content), as do every event-handler attribute,
  ``srcdoc``, and any URL but http(s), mailto, same-site relative ones and, on ``<img src>`` only, images as
  ``data:image/(png|jpeg|gif|webp|svg+xml)`` (an SVG shown as an image runs no script); an ``<img>`` loads nothing
  from the network; ``style`` attributes keep only properties that load nothing and cannot move an element over
  the page.
- :func:`csp_meta` is the one place that builds the page's Content-Security-Policy, a ``<meta http-equiv>`` that
  goes first in ``<head>`` (pages open from disk, with no server to send a header): no script but the page's own,
  allowed by hash, no plugin, frame, form target or ``<base>``, nothing from the network (images from ``data:``
  and the page's own folder, inline styles).

A page whose sanitising missed something still runs nothing: the policy refuses inline script, handlers and
``javascript:`` URLs.
"""

from __future__ import annotations

import base64
import hashlib
import html
import re
from collections.abc import Iterable

import nh3

TAGS = {
    "a", "abbr", "b", "blockquote", "br", "caption", "cite", "code", "col", "colgroup", "dd", "del", "details",
    "dfn", "div", "dl", "dt", "em", "figcaption", "figure", "h1", "h2", "h3", "h4", "h5", "h6", "hr", "i", "img",
    "ins", "kbd", "li", "mark", "ol", "p", "pre", "q", "s", "samp", "small", "span", "strong", "sub", "summary",
    "sup", "table", "tbody", "td", "tfoot", "th", "thead", "tr", "u", "ul", "var", "wbr",
}
# dropped with everything inside them (the others not in TAGS are unwrapped: their text stays, as text)
DROPPED_WITH_CONTENT = {"script", "style", "template", "svg", "math", "iframe", "object", "embed", "noscript",
                        "noembed", "noframes", "textarea", "select", "title", "xmp", "head"}
ATTRIBUTES = {
    "*": {"class", "id", "title", "lang", "dir", "style"},
    "a": {"href"},
    "img": {"src", "alt", "width", "height"},
    "td": {"colspan", "rowspan", "align", "valign"},
    "th": {"colspan", "rowspan", "align", "valign", "scope"},
    "table": {"border"},
    "col": {"span"}, "colgroup": {"span"},
    "ol": {"start", "type"}, "li": {"value"},
    "details": {"open"},
    "blockquote": {"cite"}, "q": {"cite"}, "del": {"cite"}, "ins": {"cite"},
}
URL_SCHEMES = {"http", "https", "mailto", "data"}  # data: only where _keep_attribute allows it (images)
URL_ATTRIBUTES = {"href", "src", "cite"}
STYLE_PROPERTIES = {  # none of them takes a url() or moves the element out of its place
    "color", "background-color", "font-weight", "font-style", "font-family", "font-size", "text-align",
    "text-decoration", "vertical-align", "white-space", "border", "border-collapse", "padding",
}
IMAGE_DATA = re.compile(r"data:image/(png|jpeg|gif|webp|svg\+xml)[;,]")
# what browsers ignore in a URL's scheme (ASCII whitespace and controls): "jav\tascript:" is javascript:
_IGNORED_IN_URL = re.compile(r"[\x00-\x20\x7f]")
CSP_POLICY = {  # directive -> sources; script-src is replaced by the hashes of the page's own scripts, if any
    "default-src": "'none'",
    "script-src": "'none'",
    "style-src": "'unsafe-inline'",
    "img-src": "'self' data:",
    "object-src": "'none'",
    "base-uri": "'none'",
    "form-action": "'none'",
    "frame-src": "'none'",
}


def sanitize_html(fragment) -> str:
    """``fragment`` (HTML, or bytes of it) with only what the allow-list keeps (see the module's docstring)."""
    text = fragment.decode("utf-8", "replace") if isinstance(fragment, bytes) else str(fragment)
    return nh3.clean(text, tags=TAGS, clean_content_tags=DROPPED_WITH_CONTENT, attributes=ATTRIBUTES,
                     attribute_filter=_keep_attribute, url_schemes=URL_SCHEMES,
                     filter_style_properties=STYLE_PROPERTIES, strip_comments=True,
                     link_rel="noopener noreferrer")


def _keep_attribute(tag: str, attribute: str, value: str) -> str | None:
    """nh3's attribute filter: a URL only where :func:`safe_url` allows it; None drops the attribute."""
    if attribute not in URL_ATTRIBUTES:
        return value
    return value if safe_url(value, image=tag == "img" and attribute == "src") else None


def safe_url(url: str, *, image: bool = False) -> bool:
    """Whether a page may link to ``url`` (or, with ``image``, load an image from it), read as a browser reads it:
    a link to http(s), mailto or a relative path; an image from ``data:image/(png|jpeg|gif|webp|svg+xml)`` or a
    relative path, never from another host (``//host/x.png``, ``\\\\host\\x.png``: it would tell someone the page
    was opened)."""
    url = _IGNORED_IN_URL.sub("", url).lower()
    if url.startswith("data:"):
        return image and IMAGE_DATA.match(url) is not None
    scheme = re.match(r"([a-z][a-z0-9+.-]*):", url)
    if image:
        return scheme is None and not url.startswith(("//", "\\\\", "/\\", "\\/"))
    return scheme is None or scheme[1] in {"http", "https", "mailto"}


def script_hash(source: str) -> str:
    """The CSP source that allows exactly the inline script ``<script>source</script>``."""
    digest = hashlib.sha256(source.encode("utf-8")).digest()
    return f"'sha256-{base64.b64encode(digest).decode('ascii')}'"


def content_security_policy(scripts: Iterable[str] = ()) -> str:
    """The policy of a page whose only scripts are the inline ``scripts`` (their exact text)."""
    policy = dict(CSP_POLICY)
    hashes = sorted({script_hash(s) for s in scripts})
    if hashes:
        policy["script-src"] = " ".join(hashes)
    return "; ".join(f"{directive} {sources}" for directive, sources in policy.items())


def csp_meta(scripts: Iterable[str] = ()) -> str:
    """The ``<meta http-equiv="Content-Security-Policy">`` that goes first in a page's ``<head>``."""
    policy = html.escape(content_security_policy(scripts), quote=False).replace('"', "&quot;")
    return f'<meta http-equiv="Content-Security-Policy" content="{policy}">'
