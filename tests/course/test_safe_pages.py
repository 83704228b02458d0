"""What makes the project's pages safe to open, without a browser (tests/grader/test_hostile_pages.py opens them): the
sanitiser on every payload of tests/files/hostile-payloads.json, the notebook's outputs reduced to data, the
feedback's summary built from escaped text, and the Content-Security-Policy."""

from __future__ import annotations

import base64
import hashlib
import html
import json
from html.parser import HTMLParser

import nbformat
import pytest
from nbconvert.filters import markdown2html

from course.safe_html import content_security_policy, csp_meta, safe_url, sanitize_html, script_hash
from course.safe_notebook import SafeNotebook
from course.safe_sphinx import clean as clean_doctree
from grader.preprocessors.report_tests import ReportTests
from grader.results import SubmissionResult, TestResult
from support.hostile import PAYLOADS, USEFUL_TABLE, fill, hostile_notebook, png

RUNS = {"script", "style", "iframe", "frame", "frameset", "object", "embed", "applet", "form", "base", "meta",
        "link", "svg", "math", "button", "input", "textarea", "select", "template", "noscript", "portal"}
URL_ATTRIBUTES = {"href", "src", "action", "formaction", "data", "xlink:href", "poster", "background", "cite", "ping",
                  "srcset"}


class Elements(HTMLParser):
    """Every start tag of a fragment with its attributes, as the browser's tokenizer sees them (entities decoded)."""

    def __init__(self, fragment: str):
        super().__init__(convert_charrefs=True)
        self.found: list[tuple[str, dict[str, str]]] = []
        self.feed(fragment)
        self.close()

    def handle_starttag(self, tag, attrs):
        self.found.append((tag, {name: value or "" for name, value in attrs}))


def what_could_run(fragment: str) -> list[str]:
    """What in ``fragment`` could run script, show another document or load from elsewhere."""
    found = []
    for tag, attrs in Elements(fragment).found:
        if tag in RUNS:
            found.append(f"<{tag}>")
        for name, value in attrs.items():
            url = "".join(ch for ch in value if ord(ch) > 0x20 and ord(ch) != 0x7F).lower()
            if name.startswith("on") or name == "srcdoc":
                found.append(f"<{tag} {name}>")
            elif (name in URL_ATTRIBUTES and ":" in url.split("/")[0] and not (
                    url.startswith(("http:", "https:", "mailto:")) and tag != "img"
                    or tag == "img" and name == "src" and url.startswith(("data:image/png;", "data:image/svg+xml;")))
                  or name in URL_ATTRIBUTES and url.startswith("//") or name == "style" and "url(" in url):
                found.append(f"<{tag} {name}={value[:60]}>")
    return found


def every_payload() -> list[tuple[str, str]]:
    """(id, HTML) of every payload as the pages would get it: HTML as it is, markdown rendered, names rendered
    as markdown (a name in a markdown line) and as they are."""
    cases = [(p["id"], fill(p["html"], p["id"])) for p in PAYLOADS["html"]]
    cases += [(p["id"], markdown2html(fill(p["markdown"], p["id"]))) for p in PAYLOADS["markdown"]]
    for i, name in enumerate(PAYLOADS["names"]):
        text = fill(name, f"name-{i}")
        cases += [(f"name-{i}", text), (f"name-{i}-markdown", markdown2html(text))]
    return cases


@pytest.mark.parametrize("payload_id, fragment", every_payload(), ids=[case[0] for case in every_payload()])
def test_the_sanitiser_leaves_nothing_that_could_run(payload_id, fragment):
    clean = sanitize_html(fragment)
    assert not what_could_run(clean), (payload_id, clean)
    assert sanitize_html(clean) == clean  # sanitising what was sanitised changes nothing


def test_the_check_finds_what_runs_in_the_payloads_themselves():
    raw = {payload_id: what_could_run(fragment) for payload_id, fragment in every_payload()}
    harmless = {payload_id for payload_id, found in raw.items() if not found and not payload_id.startswith("name-")}
    assert harmless == {"md-title"}, harmless  # nbconvert's renderer escapes a link's title; all the rest could run
    # names are text: whether one runs depends on where a page puts it (tests/grader/test_hostile_pages.py's control)


def test_the_sanitiser_keeps_what_a_page_needs():
    image = f"data:image/png;base64,{png(4, 4)}"
    svg = "data:image/svg+xml;base64," + base64.b64encode(b"<svg xmlns='http://www.w3.org/2000/svg'/>").decode()
    fragment = (f'<h2 id="Results">Results<a class="anchor-link" href="#Results">¶</a></h2>'
                f'<p><strong>bold</strong>, <em>em</em>, <code>code</code>, <a href="https://example.org/x">web</a>, '
                f'<a href="other.html#part">page</a>, <a href="mailto:a@example.org">mail</a></p>'
                f'<ul><li>one</li></ul><ol start="3"><li>three</li></ol><blockquote><p>quote</p></blockquote>'
                f'<div class="highlight"><pre><span class="n">x</span> <span class="o">=</span> 1</pre></div>'
                f'{USEFUL_TABLE}<table border="1" class="dataframe"><tr><th style="text-align: right;">a</th></tr>'
                f'</table><img src="{image}" alt="a plot" width="40"><img src="{svg}" alt="a drawing">'
                f'<img src="figures/a.png" alt="f">'
                f'<details open=""><summary>more</summary>hidden</details><span style="color: red;">red</span>')
    clean = sanitize_html(fragment)
    for kept in ('<h2 id="Results">', 'href="#Results"', "<strong>bold</strong>", 'href="https://example.org/x"',
                 'href="other.html#part"', 'href="mailto:a@example.org"', '<ol start="3">', "<blockquote>",
                 '<span class="n">x</span>', '<table class="useful-table">', "<td>4242</td>", 'border="1"',
                 'style="text-align:right"', f'src="{image}"', f'src="{svg}"', 'src="figures/a.png"', 'width="40"',
                 "<summary>more</summary>", 'style="color:red"'):
        assert kept in clean, (kept, clean)


@pytest.mark.parametrize("url", ["javascript:x", "JavaScript:x", " javascript:x", "java\tscript:x", "java&#10;script:x",
                                 "&#106;avascript:x", "vbscript:x", "data:text/html,<b>", "data:image/svg+xml,<svg/>"])
def test_no_link_keeps_a_url_that_runs_or_shows_a_document(url):
    assert "href" not in sanitize_html(f'<a href="{url}">x</a>')


@pytest.mark.parametrize("src", ["http://example.org/x.png", "//example.org/x.png", "\\\\host\\x.png",
                                 "data:text/html;base64,PGI+", "file:///etc/passwd", "javascript:x"])
def test_no_image_is_loaded_from_elsewhere(src):
    assert "src" not in sanitize_html(f'<img src="{src}">')


@pytest.mark.parametrize("url", ["javascript:x", "JavaScript:x", " javascript:x", "java\tscript:x", "java\nscript:x",
                                 "vbscript:x", "data:text/html,<b>", "data:image/svg+xml,<svg/>", "file:///etc/passwd"])
def test_safe_url_refuses_a_link_that_runs_or_shows_a_document(url):  # as the site's links hold them: decoded
    assert not safe_url(url)


@pytest.mark.parametrize("url", ["https://example.org/x", "http://example.org", "mailto:a@example.org", "other.html#a",
                                 "#part", "../lessons/01.html"])
def test_safe_url_keeps_links_to_the_web_and_the_site(url):
    assert safe_url(url)


@pytest.mark.parametrize("src, ok", [("figures/a.png", True), ("data:image/png;base64,iVBO", True),
                                     ("http://example.org/x.png", False), ("//example.org/x.png", False),
                                     ("\\\\host\\x.png", False), ("data:text/html;base64,PGI+", False),
                                     ("attachment:evil.html", False), ("javascript:x", False)])
def test_safe_url_loads_images_only_from_the_page_itself(src, ok):
    assert safe_url(src, image=True) is ok


def test_the_sites_doctrees_keep_their_structure_and_lose_what_runs():
    from docutils import nodes

    doc = nodes.section()
    doc += nodes.raw("", "<details>\n<summary>Solution</summary>", format="html")
    doc += nodes.paragraph("", "the solution, in markdown")
    doc += nodes.raw("", "</details>", format="html")
    doc += nodes.raw("", "<img src=x onerror=\"__pwn('x')\"><b>kept</b>", format="html")
    doc += nodes.raw("", "\\input{/etc/passwd}", format="latex")
    para = nodes.paragraph()
    para += nodes.reference("", "a js link", refuri="javascript:__pwn('y')")
    para += nodes.reference("", "a web link", refuri="https://example.org/")
    para += nodes.image(uri="https://example.org/spy.png")
    para += nodes.image(uri="figures/a.png")
    doc += para
    clean_doctree(doc)
    raws = [(r["format"], r.astext()) for r in doc.findall(nodes.raw)]
    assert raws == [("html", "<details>\n<summary>Solution</summary>"), ("html", "</details>"),
                    ("html", '<img src="x"><b>kept</b>')]
    assert [r["refuri"] for r in doc.findall(nodes.reference)] == ["https://example.org/"]
    assert "a js link" in doc.astext()  # the text of a refused link stays
    assert [i["uri"] for i in doc.findall(nodes.image)] == ["figures/a.png"]


def test_the_policy_allows_only_the_pages_own_scripts_by_hash():
    source = "document.title = 'sorted';"
    digest = base64.b64encode(hashlib.sha256(source.encode()).digest()).decode()
    assert script_hash(source) == f"'sha256-{digest}'"
    policy = dict(d.split(" ", 1) for d in content_security_policy([source, source]).split("; "))
    assert policy == {"default-src": "'none'", "script-src": f"'sha256-{digest}'", "style-src": "'unsafe-inline'",
                      "img-src": "'self' data:", "object-src": "'none'", "base-uri": "'none'",
                      "form-action": "'none'", "frame-src": "'none'"}
    assert dict(d.split(" ", 1) for d in content_security_policy().split("; "))["script-src"] == "'none'"
    meta = csp_meta([source])
    assert meta.startswith('<meta http-equiv="Content-Security-Policy" content="') and '"' not in meta[52:-2]
    assert html.unescape(meta[52:-2]) == content_security_policy([source])


def test_safe_notebook_leaves_only_data_that_pages_show_as_data():
    nb = nbformat.from_dict(hostile_notebook(answer="def answer():\n    return 42"))
    nb, _ = SafeNotebook().preprocess(nb, {})
    nbformat.validate(nb)  # what forged kernel messages made invalid is valid again
    assert "widgets" not in nb.metadata and isinstance(nb.metadata.title, str)
    outputs = [out for cell in nb.cells if cell.cell_type == "code" for out in cell.outputs]
    types = {t for out in outputs for t in out.get("data", {})}
    assert types <= {"text/plain", "text/html", "text/markdown", "text/latex", "image/svg+xml", "image/png"}, types
    assert {out.output_type for out in outputs} == {"display_data", "execute_result", "stream", "error"}
    assert all(cell.execution_count is None or type(cell.execution_count) is int
               for cell in nb.cells if cell.cell_type == "code")
    assert all(out.execution_count is None or type(out.execution_count) is int
               for out in outputs if out.output_type == "execute_result")
    metadata = json.dumps([out.get("metadata", {}) for out in outputs])
    assert "__pwn" not in metadata and "filenames" not in metadata
    assert {"image/png": {"width": 96, "height": 64}} in [out.get("metadata") for out in outputs]
    assert "graph TD\n</pre><img src=x onerror=\"__pwn('mermaid-output:pre')\">" in [
        out.data.get("text/plain") for out in outputs if "data" in out]  # mermaid shown as its text
    assert [out.data["text/html"] for out in outputs if "useful-table" in out.get("data", {}).get("text/html", "")] \
        == [USEFUL_TABLE]
    assert sum("image/png" in out.get("data", {}) for out in outputs) == 3  # two with hostile metadata, the figure
    attachment = next(cell for cell in nb.cells if "attachment" in cell.source)
    assert attachment.source == "![an attachment](missing-attachment:evil.html)" and attachment.attachments == {}
    assert all(c.id.startswith("cell-") for c in nb.cells) and len({c.id for c in nb.cells}) == len(nb.cells)


def test_the_feedback_summary_is_html_built_from_escaped_text():
    hostile = "[click](javascript:__pwn('m')) <img src=x onerror=__pwn('i')> <javascript:x> ![i](javascript:y)"
    result = SubmissionResult(f"<b>{hostile}</b>", "ex", "p", "c", tests=[
        TestResult("q1", 0, 1, "failed", hostile), TestResult(hostile, 1, 1, "passed")],
        flags=[f"the notebook asked for kernel {hostile!r}"], status="error", message=hostile)
    nb = nbformat.v4.new_notebook(cells=[nbformat.v4.new_code_cell(
        "x", metadata={"nbgrader": {"grade_id": "q1", "grade": True, "solution": False, "locked": True, "points": 1}})])
    nb, _ = ReportTests().preprocess(nb, {"grader_result": result})
    summary, _, per_test = nb.cells
    assert summary.cell_type == per_test.cell_type == "raw" and summary.metadata.raw_mimetype == "text/html"
    for cell in (summary, per_test):
        assert not what_could_run(cell.source), cell.source
        assert [tag for tag, _ in Elements(cell.source).found if tag == "a" or tag == "img"] == []
        assert html.escape(hostile) in cell.source  # every character of it shown, as text
    assert nb.metadata.title == f"Feedback: ex (<b>{hostile}</b>)"  # the page's <title>, escaped by the template
    assert sanitize_html(summary.source).count("<tr>") == 3  # survives the page's sanitiser: header and two tests
