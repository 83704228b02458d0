"""The pages the project writes (feedback, the report, the course's documentation site), opened in a real browser
(Debian's chromium, see support/browser.py) with a hostile class in them (tests/support/hostile.py: the payloads
of tests/files/hostile-payloads.json in student names, messages, flags, comments, markdown, raw cells and every
kind of output): no payload runs as a page loads or when anything
on it is clicked, no page holds a handler, a ``javascript:`` URL, a frame or a form, nothing is loaded from the
network, every page starts with its Content-Security-Policy, and the feedback stays useful.  The documentation
site (Sphinx, with its theme's own scripts and search form) is held to what it can be: no payload runs, none is
left as a handler or a ``javascript:`` URL, nothing is loaded from the network.

Two controls show that these checks can fail: on a page written without sanitiser or policy the watch sees every
live payload run (and each payload does what the payload file says), and the policy alone, with no sanitiser,
stops them all while the page's own script, allowed by its hash, runs."""

from __future__ import annotations

from pathlib import Path

import nbformat
import pytest
from nbconvert.filters import markdown2html
from nbformat.v4 import new_markdown_cell, new_notebook

from course.safe_html import content_security_policy, csp_meta
from grader import feedback, report
from grader.book import build_book
from grader.report import SORT_JS
from support.browser import SCREENSHOTS, PageReport, inspect_page, open_browser, open_watched, watched_page
from support.hostile import EXERCISE, PAYLOADS, fill, hostile_notebook, make_hostile_gradebook, names
from support.reports import report_pages

pytestmark = pytest.mark.timeout(900)
OWN_SCRIPT = "__pwn('control:own-script')"


@pytest.fixture(scope="module")
def browser():
    with open_browser() as b:
        yield b


@pytest.fixture(scope="module")
def hostile_class(tmp_path_factory) -> Path:
    """``grader feedback`` and ``grader report`` (which writes its own copies of the feedback pages) on the
    hostile gradebook."""
    tmp = tmp_path_factory.mktemp("hostile-class")
    book = make_hostile_gradebook(tmp / "gradebook.sqlite")
    assert feedback.main(gradebook=book, out=tmp / "feedback", quiet=True) == 0
    assert report.main(gradebook=book, out=tmp / "report") == 0
    return tmp


def naive_page(path: Path, head: str = "", script: str = "") -> dict[str, set[str]]:
    """Write every payload to ``path`` as a page without sanitiser would show it (HTML as it is, markdown through
    nbconvert's own renderer, names in text, in a quoted attribute and as a link); return the marks expected to
    run on load, on a click, as a request, and never (Chromium refuses them by itself)."""
    expected: dict[str, set[str]] = {"load": set(), "click": set(), "request": set(), "never": set()}
    parts = []
    for kind, render in (("html", str), ("markdown", markdown2html)):
        for p in PAYLOADS[kind]:
            mark = f"control:{p['id']}"
            parts.append(f"<div>{render(fill(p[kind], mark))}</div>")
            expected[p["runs"] or "never"].add(mark)
    for i, name in enumerate(PAYLOADS["names"]):
        text = fill(name, f"control:name-{i}")
        parts.append(f"<p title='{text}'>{text} <a href=\"{text}\">a name</a></p>{markdown2html(text)}")
    own = f"<script>{script}</script>" if script else ""
    path.write_text(f"<!DOCTYPE html>\n<html><head>{head}<meta charset=\"utf-8\"><title>control</title></head>"
                    f"<body>{own}\n" + "\n".join(parts) + "\n</body></html>\n", encoding="utf-8")
    return expected


def test_the_watch_sees_every_live_payload_run_on_a_page_without_protection(browser, tmp_path):
    expected = naive_page(tmp_path / "naive.html")
    shown = inspect_page(browser, tmp_path / "naive.html", SCREENSHOTS / "hostile-control-naive.png", click=True)
    on_load = {mark for mark in shown.ran_on_load if not mark.startswith("control:name-")}
    assert on_load == expected["load"], (sorted(expected["load"] - on_load), sorted(on_load - expected["load"]))
    ran = set(shown.ran)
    every_name = {f"control:name-{i}" for i in range(len(PAYLOADS["names"]))}
    live = expected["load"] | expected["click"]
    assert ran - every_name == live, (sorted(live - ran), sorted(ran - every_name - live))
    assert every_name <= ran, sorted(every_name - ran)  # each name runs as a naive template writes it
    requested = {mark for mark in expected["request"] if any(mark in url for url in shown.requests)}
    assert requested == expected["request"], sorted(expected["request"] - requested)
    assert shown.dangers and not shown.csp


def test_the_policy_alone_stops_every_payload_and_runs_the_pages_own_script(browser, tmp_path):
    naive_page(tmp_path / "policy.html", head=csp_meta([OWN_SCRIPT]), script=OWN_SCRIPT)
    shown = inspect_page(browser, tmp_path / "policy.html", SCREENSHOTS / "hostile-control-policy.png", click=True)
    assert shown.csp == content_security_policy([OWN_SCRIPT])
    assert shown.ran_on_load == ["control:own-script"], shown.ran_on_load
    assert set(shown.ran) == {"control:own-script"}, shown.ran  # reloads run the page's own script again
    assert not shown.requests and not shown.dialogs, (shown.requests, shown.dialogs)
    refused = " ".join(shown.csp_violations)
    for directive in ("script-src-elem", "script-src-attr", "frame-src", "object-src", "img-src", "style-src-elem"):
        assert directive in refused, (directive, shown.csp_violations)


def problems_of(shown: PageReport, policy: str, own_links: frozenset[str] = frozenset()) -> dict[str, object]:
    """What must not be on a page the project wrote (empty if it is safe); ``own_links``: the external links the
    project itself puts there (the site's launch links)."""
    found = {"ran": shown.ran, "dialogs": shown.dialogs, "policy violations": shown.csp_violations,
             "loads": shown.requests, "dangers": shown.dangers, "broken links": shown.broken_links,
             "external links": [link for link in shown.external_links
                                if "example.org" not in link and link not in own_links]}
    if shown.csp != policy:
        found["policy"] = shown.csp
    return {what: value for what, value in found.items() if value}


def test_no_payload_runs_on_any_feedback_or_report_page(hostile_class, browser):
    feedback_pages = sorted((hostile_class / "feedback").rglob("*.html"))
    copies = sorted((hostile_class / "report" / "feedback").rglob("*.html"))
    assert [p.read_bytes() for p in feedback_pages] == [p.read_bytes() for p in copies]  # the report's are the same
    pages = feedback_pages + report_pages(hostile_class / "report")  # (its links to the copies are followed)
    assert len(pages) == 6 + 5  # every submission's feedback; index, by-score, two exercises, one pair
    problems, clicked = {}, 0
    for n, page in enumerate(pages):
        shown = inspect_page(browser, page, SCREENSHOTS / f"hostile-page-{n}.png", click=True)
        sortable = page.name in ("index.html", "by-score.html") and page.parent.name == "report"
        found = problems_of(shown, content_security_policy([SORT_JS] if sortable else []))
        if shown.scripts != ([SORT_JS.strip()[:80]] if sortable else []):
            found["scripts"] = shown.scripts
        if found:
            problems[str(page.relative_to(hostile_class))] = found
        clicked += shown.clicked
    assert not problems, problems
    assert clicked > 100  # the feedback pages' links and left-over anchors, the report's links


def test_a_feedback_page_still_shows_the_scores_the_figures_and_the_tables(hostile_class, browser):
    student = names("student-name")[0]
    shown = PageReport(url="")
    page = watched_page(browser, shown)
    try:
        open_watched(page, (hostile_class / "feedback" / student / f"{EXERCISE}.html").as_uri())
        text = page.evaluate("document.body.innerText")
        assert "Score: 1 / 5" in text and f"Feedback: {EXERCISE} ({student})" in text
        assert page.title() == f"Feedback: {EXERCISE} ({student})"
        rows = page.eval_on_selector_all("table.grader-scores tbody tr",
                                         "rows => rows.map(r => [...r.cells].map(c => c.textContent))")
        assert [row[:2] for row in rows] == [["q1-test", "0 / 2"], [names("test-name")[0], "0 / 1"], ["q2", "1 / 2"]]
        assert rows[0][3] == ("[click](javascript:__pwn('ename:md-link')): <img src=x onerror=__pwn('evalue:img')> "
                              "<javascript:__pwn('evalue:autolink')>")  # the message, as text
        assert "<script>__pwn('comment:script')</script> see [here](javascript:__pwn('comment:md-link'))" in text
        assert "[k](javascript:__pwn('flag-kernel:md'))" in text  # the flag, as text
        figures = page.eval_on_selector_all(
            ".jp-RenderedImage img", "els => els.map(e => [e.getAttribute('src').slice(0, 22), e.complete, "
                                     "e.naturalWidth, e.width])")
        assert ["data:image/png;base64,", True, 48, 96] in figures, figures  # its own width (96) kept
        assert page.eval_on_selector_all("table.useful-table tbody tr", "rows => rows.map(r => r.textContent)") == \
            ["04242", "14243"]
        assert "details text" in text and "a javascript link" in text  # markdown's text stays, its script goes
    finally:
        page.close()
    assert not shown.ran and not shown.csp_violations, (shown.ran, shown.csp_violations)


def test_no_payload_runs_on_the_documentation_site(browser, tmp_path):
    """The Sphinx site (``grader book``) with a hostile lesson among its lessons: MyST and myst-nb would pass its
    HTML through, course.safe_sphinx cleans it; its useful outputs and a folded solution stay."""
    notebooks = tmp_path / "notebooks"
    notebooks.mkdir()
    lesson = nbformat.from_dict(hostile_notebook(lesson=True))
    math = "$$ a^2 + b^2 = c^2 $$\n\n$$ <img src=x onerror=\"__pwn('math:img')\"> $$"
    lesson.cells.insert(1, new_markdown_cell(math))
    fold = "<details><summary>Solution</summary>\n\nthe folded answer\n\n</details>"
    lesson.cells.insert(2, new_markdown_cell(fold))
    nbformat.write(lesson, notebooks / "01-hostile.ipynb")
    other = new_notebook(cells=[new_markdown_cell("# Another lesson\n\nBack to [the first](01-hostile.ipynb).")])
    nbformat.write(other, notebooks / "02-another.ipynb")
    index = build_book(tmp_path / "site", {}, tmp_path / "no-exercises", notebooks=notebooks)
    site = index.parent
    problems = {}
    for page, click in ((site / "lessons" / "01-hostile.html", True), (site / "lessons" / "02-another.html", False),
                        (index, False), (site / "search.html", False)):
        shown = inspect_page(browser, page, SCREENSHOTS / f"hostile-book-{page.stem}.png", click=click)
        found = {"ran": shown.ran, "dialogs": shown.dialogs, "loads": shown.requests,
                 "dangers": [d for d in shown.dangers if "__pwn" in d or "javascript:" in d.lower()]}
        # (the theme's own search <form> is a danger by the watch's list, not a payload; a payload's <img src=x>,
        # cleaned, still asks for x, which is not there)
        if any(found.values()):
            problems[page.name] = {k: v for k, v in found.items() if v}
        if page.name == "01-hostile.html":
            assert "A hostile lesson" in shown.text and "04242" in shown.text.replace("\t", "").replace("\n", "")
            figures = [i for i in shown.images if i["complete"] and i["naturalWidth"] == 48]  # support.hostile.png()
            assert figures, [i for i in shown.images if i["src"] not in ("x", "")]
    assert not problems, problems
    lesson_html = (site / "lessons" / "01-hostile.html").read_text(encoding="utf-8")
    assert "<details><summary>Solution</summary>" in lesson_html  # the fold is whole: its answer inside it
    fold_at = lesson_html.index("<summary>Solution")
    assert lesson_html.index("the folded answer", fold_at) < lesson_html.index("</details>", fold_at)
