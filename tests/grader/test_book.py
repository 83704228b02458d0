"""``grader book``: the documentation site (Sphinx, myst-nb, sphinx-book-theme) built from the lessons as stored and
one lesson executed for real (03 draws figures), checked on disk, in a real browser (Debian's chromium, see
support/browser.py) from file:// with the network cut, and a broken internal link failing the build."""

from __future__ import annotations

import re
import shutil
from html.parser import HTMLParser
from pathlib import Path

import nbformat
import pytest

from course import launch
from grader import release
from grader.book import DOC_PAGES, BookError, build_book, heading_slug, rewrite_links
from grader.lessons import execute_notebook
from support.browser import SCREENSHOTS, PageReport, inspect_page, open_browser, open_watched, watched_page

ROOT = Path(__file__).resolve().parents[2]
EXECUTED = "03-map-over-engines"  # draws figures
LESSONS = sorted(p.stem for p in (ROOT / "notebooks").glob("[0-9][0-9]-*.ipynb"))
MIN_IMAGE_SIDE = 100
pytestmark = [pytest.mark.timeout(900)]


@pytest.fixture(scope="module")
def book(cluster, mirror, tmp_path_factory):
    """The site of every lesson as stored, lesson 03 executed against the session's cluster; (site, released)."""
    tmp = tmp_path_factory.mktemp("book")
    assert release.main(source=ROOT / "exercises", out=tmp / "release") == 0
    path = ROOT / "notebooks" / f"{EXECUTED}.ipynb"
    executed = execute_notebook(nbformat.read(path, as_version=4), cwd=path.parent, ipython_dir=cluster.ipython_dir,
                                mirror_url=mirror.url, name=path.name)
    cluster.verify()
    index = build_book(tmp / "site", {EXECUTED: executed}, tmp / "release")
    assert index == tmp / "site" / "index.html"
    return index.parent, tmp / "release"


class Resources(HTMLParser):
    """The URLs a page loads or links to: (tag, attribute, URL) of every script, link and img (and source)."""

    def __init__(self):
        super().__init__()
        self.found: list[tuple[str, str, str]] = []

    def handle_starttag(self, tag, attrs):
        if tag in ("script", "link", "img", "source", "iframe", "video", "audio"):
            self.found += [(tag, k, v or "") for k, v in attrs if k in ("src", "href", "srcset")]


def resources(page: Path) -> list[tuple[str, str, str]]:
    parser = Resources()
    parser.feed(page.read_text(encoding="utf-8"))
    return parser.found


@pytest.mark.cluster
def test_the_book_has_every_page_download_and_nothing_from_the_network(book):
    site, released = book
    for page in ["index.html", "search.html", *(f"docs/{p}.html" for p in DOC_PAGES),
                 *(f"lessons/{name}.html" for name in LESSONS)]:
        assert (site / page).is_file(), page
    assert (site / "searchindex.js").is_file()  # Sphinx's own search
    index = (site / "index.html").read_text(encoding="utf-8")
    for name in LESSONS:  # the navigation lists every lesson, in order
        assert f'href="lessons/{name}.html"' in index, name
    positions = [index.index(f'href="lessons/{name}.html"') for name in LESSONS]
    assert positions == sorted(positions)

    cfg = launch.load()
    for exercise in sorted(released.glob("[0-9][0-9]-*.ipynb")):
        downloads = list(site.glob(f"_downloads/*/{exercise.name}"))
        assert downloads and downloads[0].read_bytes() == exercise.read_bytes(), exercise.name
        lesson = (site / "lessons" / exercise.name.replace(".ipynb", ".html")).read_text(encoding="utf-8")
        href = downloads[0].relative_to(site).as_posix()
        assert f'href="../{href}"' in lesson, exercise.name  # the download, at the lesson's top
        assert launch.hub_link(cfg, f"exercises/{exercise.name}").replace("&", "&amp;") in lesson
        assert launch.binder_link(cfg, f"notebooks/{exercise.name}").replace("&", "&amp;") in lesson
    assert "Open the exercise" not in (site / "lessons" / "21-beyond-one-machine.html").read_text(encoding="utf-8")

    external = {}
    for page in site.rglob("*.html"):
        bad = [r for r in resources(page) if re.match(r"\s*(https?:)?//", r[2], re.I)]
        if bad:
            external[page.relative_to(site).as_posix()] = bad
    for sheet in site.rglob("*.css"):
        if re.search(r"url\(\s*['\"]?(https?:)?//", sheet.read_text(encoding="utf-8", errors="replace"), re.I):
            external[sheet.relative_to(site).as_posix()] = "url() from the network"
    assert not external, external

    lesson = (site / "lessons" / f"{EXECUTED}.html").read_text(encoding="utf-8")
    figures = [r for r in resources(site / "lessons" / f"{EXECUTED}.html") if r[0] == "img"]
    assert figures, "the executed lesson's figures"
    for _, _, src in figures:
        assert src.startswith("data:image/") or (site / "lessons" / src).resolve().is_file(), src
    assert '<div class="math-display"><svg' in lesson  # its display math, drawn at build time
    assert "<!--NAVIGATION-->" not in lesson and "Launch the lesson on Binder" in lesson


@pytest.fixture(scope="module")
def browser():
    with open_browser() as b:
        yield b


@pytest.mark.cluster
@pytest.mark.parametrize("page", ["index.html", f"lessons/{EXECUTED}.html"])
def test_the_book_opens_offline_in_a_browser(book, browser, page):
    site, _ = book
    report = inspect_page(browser, site / page, SCREENSHOTS / f"book-{page.replace('/', '-')}.png")
    # Sphinx's pages carry no Content-Security-Policy (the course's own pages do): nothing may come from the
    # network all the same, and every script is the site's own
    assert not report.console_errors, report.console_errors
    assert not report.failed_requests and not report.requests, (report.failed_requests, report.requests)
    assert not report.csp_violations, report.csp_violations
    assert all(s.startswith(site.as_uri() + "/") or not re.match(r"[a-z]+:", s) for s in report.scripts), (
        report.scripts)
    assert set(report.dangers) <= {"<form>"}, report.dangers  # the search box
    assert not report.broken_links, report.broken_links
    bad = [i for i in report.images if not i["complete"] or i["naturalWidth"] == 0]
    assert not bad, bad
    assert report.screenshot.is_file() and report.screenshot.stat().st_size > 5_000
    if page.startswith("lessons/"):
        figures = [i for i in report.images if i["naturalWidth"] >= MIN_IMAGE_SIDE
                   and i["naturalHeight"] >= MIN_IMAGE_SIDE]
        assert figures, report.images
        assert "Open the lesson on JupyterHub" in report.text
    else:
        assert "Going parallel with ipyparallel" in report.text and "For students" in report.text


@pytest.mark.cluster
def test_the_search_works_offline(book, browser):
    site, _ = book
    report = PageReport(url=(site / "search.html").as_uri() + "?q=scatter")
    page = watched_page(browser, report)
    try:
        open_watched(page, report.url)
        page.wait_for_selector("#search-results li a", timeout=30_000)
        found = page.eval_on_selector_all("#search-results li a", "els => els.map(e => e.getAttribute('href'))")
    finally:
        page.close()
    assert "lessons/06-scatter-and-gather-arrays.html" in found, found
    assert not report.console_errors and not report.failed_requests and not report.requests, (
        report.console_errors, report.failed_requests, report.requests)


def test_a_broken_internal_link_fails_the_build_naming_the_file(tmp_path):
    docs = tmp_path / "docs"
    shutil.copytree(ROOT / "docs", docs)
    notebooks = tmp_path / "notebooks"
    notebooks.mkdir()
    shutil.copyfile(ROOT / "notebooks" / "01-start-a-cluster.ipynb", notebooks / "01-start-a-cluster.ipynb")
    (tmp_path / "release").mkdir()
    assert build_book(tmp_path / "ok", None, tmp_path / "release", docs=docs, notebooks=notebooks).is_file()

    students = docs / "students.md"
    students.write_text(students.read_text() + "\nSee [the missing page](no-such-page.md).\n")
    with pytest.raises(BookError, match=r"docs/students\.md:\d+: WARNING: .*no-such-page"):
        build_book(tmp_path / "broken", None, tmp_path / "release", docs=docs, notebooks=notebooks)

    students.write_text(students.read_text().replace("no-such-page.md", "course.md#no-such-heading"))
    with pytest.raises(BookError, match=r"docs/students\.md:\d+: WARNING: .*no-such-heading"):
        build_book(tmp_path / "anchor", None, tmp_path / "release", docs=docs, notebooks=notebooks)


def test_links_are_pointed_into_the_book():
    assert rewrite_links("[Index](../README.md#the-notebooks)", set(), prefix="../") == (
        "[Index](../index.md#the-notebooks)")
    assert rewrite_links("[lesson](notebooks/01-start-a-cluster.ipynb) [ex](exercises/01-start-a-cluster.ipynb) "
                         "[gone](exercises/08-none.ipynb)", {"01-start-a-cluster"}, prefix="") == (
        "[lesson](lessons/01-start-a-cluster.ipynb) {download}`ex <exercises/01-start-a-cluster.ipynb>` gone")
    assert rewrite_links("[see](16-results-as-they-arrive.ipynb#Interrupting-a-running-task)", set(),
                         prefix="../") == "[see](16-results-as-they-arrive.ipynb#interrupting-a-running-task)"
    assert heading_slug("Why `%px`, not map?") == "why-px-not-map"
    assert rewrite_links("![fig](x.png) [web](https://example.org)", set(), prefix="../") == (
        "![fig](x.png) [web](https://example.org)")
