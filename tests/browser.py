"""Open the course's HTML pages in a real browser and report what an instructor would see (no tests here).

Drives Debian's chromium (``/usr/bin/chromium``, which ``python3 dev.py test`` installs) through playwright's
sync API; playwright's own browser downloads are never used.  Pages are opened from disk (file:// URLs) and
must work offline.

    with open_browser() as browser:
        report = inspect_page(browser, site / "index.html", SCREENSHOTS / "site-index.png")
        assert not report.console_errors and not report.broken_links
"""

from __future__ import annotations

import contextlib
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from urllib.parse import unquote, urlsplit

ROOT = Path(__file__).resolve().parents[1]
CHROMIUM = Path("/usr/bin/chromium")
SCREENSHOTS = ROOT / "test-artifacts" / "screenshots"
ARGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
        "--disable-background-networking", "--disable-component-update", "--disable-sync"]
OFFLINE_HOSTS = {"127.0.0.1", "localhost", "::1", "[::1]"}
LOAD_TIMEOUT_MS = 60_000


@dataclass
class PageReport:
    """What one page showed: everything a test asserts on."""

    url: str
    console_errors: list[str] = field(default_factory=list)  # console messages of type error, and page errors
    failed_requests: list[str] = field(default_factory=list)  # "URL: why" for failed requests and HTTP >= 400
    images: list[dict] = field(default_factory=list)  # {src, naturalWidth, naturalHeight, complete} per <img>
    broken_links: list[str] = field(default_factory=list)  # "href: why" for every <a href> that does not resolve
    external_links: list[str] = field(default_factory=list)  # http(s) links (listed, never fetched)
    links: list[str] = field(default_factory=list)  # every <a href> as written
    text: str = ""  # document.body.innerText
    screenshot: Path | None = None


@contextlib.contextmanager
def open_browser() -> Iterator:
    """A headless chromium (playwright's sync-API ``Browser``) with a fresh user-data dir, closed on exit;
    a RuntimeError saying what to install if /usr/bin/chromium is missing."""
    if not CHROMIUM.exists():
        raise RuntimeError(f"{CHROMIUM} is missing: the browser tests need Debian's chromium; `python3 dev.py test` "
                           "installs it as root, or run: apt-get install --no-install-recommends chromium "
                           "fonts-dejavu-core")
    from playwright.sync_api import sync_playwright

    # launch() gives the browser a fresh user-data dir of its own (a temporary profile, removed on close);
    # playwright refuses --user-data-dir here (that is launch_persistent_context's).
    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path=str(CHROMIUM), args=ARGS)
        try:
            yield browser
        finally:
            browser.close()


def inspect_page(browser, path: Path, screenshot: Path) -> PageReport:
    """Open ``path`` (a local HTML file), wait for it to load, record what it showed, and take a full-page
    screenshot to ``screenshot``."""
    path = Path(path).resolve()
    report = PageReport(url=path.as_uri(), screenshot=Path(screenshot))
    page = browser.new_page()
    try:
        page.on("console", lambda msg: msg.type == "error" and report.console_errors.append(
            f"console: {msg.text} ({msg.location.get('url', '')}:{msg.location.get('lineNumber', '')})"))
        page.on("pageerror", lambda exc: report.console_errors.append(f"page error: {exc}"))
        page.on("requestfailed", lambda req: report.failed_requests.append(f"{req.url}: {req.failure}"))
        page.on("response", lambda resp: resp.status >= 400 and report.failed_requests.append(
            f"{resp.url}: HTTP {resp.status}"))
        page.goto(report.url, wait_until="load", timeout=LOAD_TIMEOUT_MS)
        with contextlib.suppress(Exception):  # pages with nothing to fetch are idle at once
            page.wait_for_load_state("networkidle", timeout=10_000)
        report.images = page.eval_on_selector_all(
            "img", "els => els.map(e => ({src: e.getAttribute('src') || '', naturalWidth: e.naturalWidth, "
                   "naturalHeight: e.naturalHeight, complete: e.complete}))")
        for image in report.images:  # a data URI is long: keep its start
            if image["src"].startswith("data:"):
                image["src"] = image["src"][:40] + "..."
        report.links = page.eval_on_selector_all("a[href]", "els => els.map(e => e.getAttribute('href'))")
        ids = set(page.eval_on_selector_all("[id], [name]", "els => els.flatMap(e => [e.id, e.getAttribute('name')])"))
        for href in report.links:
            why = _check_link(href, path, ids, browser, report)
            if why:
                report.broken_links.append(f"{href}: {why}")
        report.text = page.evaluate("document.body.innerText")
        report.screenshot.parent.mkdir(parents=True, exist_ok=True)
        page.screenshot(path=str(report.screenshot), full_page=True)
    finally:
        page.close()
    return report


def _check_link(href: str, page_path: Path, page_ids: set, browser, report: PageReport) -> str | None:
    """Why ``href`` on ``page_path`` does not resolve offline, or None if it does."""
    href = href.strip()
    if not href:
        return "empty href"
    parts = urlsplit(href)
    scheme = parts.scheme.lower()
    if scheme in ("http", "https"):
        if (parts.hostname or "").lower() in OFFLINE_HOSTS:
            return "points at a local server: the page must work offline"
        report.external_links.append(href)
        return None
    if scheme in ("mailto", "data", "javascript"):
        return None
    if scheme == "file":
        target = Path(unquote(parts.path))
    elif scheme:
        return f"unknown scheme {scheme!r}"
    elif not parts.path:  # '#x' or '?q#x': this page
        target = None
    else:
        target = (page_path.parent / unquote(parts.path)).resolve()
    if target is not None and not target.exists():
        return f"no such file {target}"
    fragment = parts.fragment
    if not fragment:
        return None
    # as browsers look it up: the fragment as written, then percent-decoded (nbconvert's ids keep "%25")
    candidates = {fragment, unquote(fragment)}
    if target is None or target == page_path:
        return None if candidates & page_ids else f"no element with id or name {fragment!r} on this page"
    if target.suffix.lower() not in (".html", ".htm"):
        return None  # a fragment of a notebook or a data file: nothing to look up
    if not candidates & _ids_of(browser, target):
        return f"no element with id or name {fragment!r} in {target.name}"
    return None


_ID_CACHE: dict[tuple[Path, int], set] = {}


def _ids_of(browser, path: Path) -> set:
    """The ids and names of the elements of another local page (loaded once)."""
    key = (path, path.stat().st_mtime_ns)
    if key not in _ID_CACHE:
        page = browser.new_page()
        try:
            page.goto(path.as_uri(), wait_until="load", timeout=LOAD_TIMEOUT_MS)
            _ID_CACHE[key] = set(page.eval_on_selector_all(
                "[id], [name]", "els => els.flatMap(e => [e.id, e.getAttribute('name')])"))
        finally:
            page.close()
    return _ID_CACHE[key]
