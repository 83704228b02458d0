"""Open the course's HTML pages in a real browser and report what an instructor would see (no tests here).

Drives Debian's chromium (``/usr/bin/chromium``, which ``python3 dev.py test`` installs) through playwright's
sync API; playwright's own browser downloads are never used.  Pages are opened from disk (file:// URLs) and
must work offline.

    with open_browser() as browser:
        report = inspect_page(browser, site / "index.html", SCREENSHOTS / "site-index.png")
        assert not report.console_errors and not report.broken_links

Every page is watched for script that should not run: a payload (tests/files/hostile-payloads.json) calls
``__pwn(mark)``, which the watch records in ``report.ran`` (a binding playwright puts in every frame, so it
works where the page's own script could not); dialogs, the page's Content-Security-Policy violations and any
request that leaves the disk are recorded too, and the DOM is searched for what could run later (event-handler
attributes, ``javascript:`` URLs, frames, forms...).  With ``click=True`` every link, button, summary and
element with a handler is then hovered and clicked, the page loaded again whenever a click left it.
"""

from __future__ import annotations

import contextlib
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from urllib.parse import unquote, urlsplit

ROOT = Path(__file__).resolve().parents[2]
CHROMIUM = Path("/usr/bin/chromium")
SCREENSHOTS = ROOT / "test-artifacts" / "screenshots"
ARGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
        "--disable-background-networking", "--disable-component-update", "--disable-sync"]
OFFLINE_HOSTS = {"127.0.0.1", "localhost", "::1", "[::1]"}
LOAD_TIMEOUT_MS = 60_000
PWN = "__pwn"  # what a hostile payload calls with its mark
NETWORK_SCHEMES = ("http", "https", "ws", "wss", "ftp")
# in every frame before the page's own scripts: policy violations reach the watch
WATCH_INIT = """document.addEventListener('securitypolicyviolation', e => window.__csp_violation(
    e.effectiveDirective + ' ' + (e.blockedURI || 'inline') + ' ' + (e.sample || '')), true);"""
# What could run script later or load from elsewhere: event-handler attributes, srcdoc, URLs with a scheme that
# runs or shows a document (javascript:, vbscript:, data: but an image's), style attributes with url(), frames,
# plugins, forms, <base>, <meta http-equiv> (but the policy's).
DANGERS_JS = r"""() => {
  const found = [], urls = ['href', 'src', 'action', 'formaction', 'data', 'xlink:href', 'poster', 'background',
                            'cite', 'ping', 'srcset', 'values', 'to', 'from'];
  const clean = v => v.replace(/[\u0000-\u0020\u007f]/g, '').toLowerCase();
  const runs = /(^|[;,\s])(javascript|vbscript|data):/;
  const image = /^data:image\/(png|jpeg|gif|webp|svg\+xml)[;,]/;
  for (const e of document.querySelectorAll('*')) {
    const tag = e.localName;
    if (['iframe', 'frame', 'frameset', 'object', 'embed', 'applet', 'form', 'base', 'portal'].includes(tag))
      found.push(`<${tag}>`);
    if (tag === 'meta' && e.hasAttribute('http-equiv')
        && e.getAttribute('http-equiv').toLowerCase() !== 'content-security-policy')
      found.push(`<meta http-equiv=${e.getAttribute('http-equiv')}>`);
    for (const a of e.attributes) {
      const name = a.name.toLowerCase(), value = clean(a.value);
      if (name.startsWith('on') || name === 'srcdoc') found.push(`<${tag} ${name}="${a.value.slice(0, 80)}">`);
      else if (urls.includes(name) && runs.test(value) && !(tag === 'img' && name === 'src' && image.test(value)))
        found.push(`<${tag} ${name}="${a.value.slice(0, 80)}">`);
      else if (name === 'style' && /url\s*\(/.test(value)) found.push(`<${tag} style="${a.value.slice(0, 80)}">`);
    }
  }
  return found;
}"""
CLICKABLE_JS = r"""() => {
  const els = [...document.querySelectorAll('a, area, button, summary, input, label, select, textarea')];
  for (const e of document.querySelectorAll('body *'))
    if ([...e.attributes].some(a => a.name.toLowerCase().startsWith('on')) && !els.includes(e)) els.push(e);
  els.forEach((e, i) => e.setAttribute('data-watch-click', String(i)));
  return els.length;
}"""
# Hover element i (mouse events and focus) and say where a click on it would go: {found, download, protocol,
# target, same} (same: no link, or one to a fragment of this document; href="" reloads it, so is not).
HOVER_JS = r"""i => {
  const e = document.querySelector(`[data-watch-click="${i}"]`);
  if (!e) return {found: false};
  const event = type => e.dispatchEvent(new MouseEvent(type, {bubbles: true, cancelable: true, view: window}));
  ['mouseover', 'mouseenter', 'mousemove', 'mousedown', 'mouseup'].forEach(event);
  if (typeof e.focus === 'function') e.focus();
  const href = e.href && e.href.baseVal !== undefined ? e.href.baseVal : (e.href || '');
  let target = null;
  try { target = href ? new URL(href, location.href) : null; } catch (err) { target = null; }
  return {found: true, download: e.hasAttribute('download'), protocol: target ? target.protocol : '',
          target: target ? target.href : '',
          same: !target || (target.href.includes('#') && target.href.split('#')[0] === location.href.split('#')[0])};
}"""
FIRE_CLICK_JS = r"""i => {
  const e = document.querySelector(`[data-watch-click="${i}"]`);
  if (typeof e.click === 'function') e.click();
  else e.dispatchEvent(new MouseEvent('click', {bubbles: true, cancelable: true, view: window}));
}"""


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
    csp: str | None = None  # the Content-Security-Policy of the <meta> that is <head>'s first element, if it is one
    ran: list[str] = field(default_factory=list)  # marks of the payloads that called __pwn, on load or on a click
    ran_on_load: list[str] = field(default_factory=list)  # those of them that ran before any click
    dialogs: list[str] = field(default_factory=list)  # alert/confirm/prompt messages (dismissed)
    csp_violations: list[str] = field(default_factory=list)  # what the page's policy refused ("directive what")
    requests: list[str] = field(default_factory=list)  # loads from the network that the policy let through (a
    # click on a link to the web is a navigation, not a load: not here; every such request is aborted all the same)
    dangers: list[str] = field(default_factory=list)  # what could run later: see DANGERS_JS
    scripts: list[str] = field(default_factory=list)  # the page's <script> elements (src, or the start of the text)
    clicked: int = 0  # elements clicked (with click=True)


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


def watched_page(browser, report: PageReport):
    """A new page that records into ``report`` what a test asserts on: console errors, failed requests, and what
    should never happen (payloads that ran, dialogs, policy violations, loads from the network).  Requests for
    anything but file: and data: URLs are aborted: nothing leaves the machine."""
    page = browser.new_page()
    page.on("console", lambda msg: msg.type == "error" and report.console_errors.append(
        f"console: {msg.text} ({msg.location.get('url', '')}:{msg.location.get('lineNumber', '')})"))
    page.on("pageerror", lambda exc: report.console_errors.append(f"page error: {exc}"))

    def failed(request) -> None:
        report.failed_requests.append(f"{request.url}: {request.failure}")
        if request.failure == "csp" and request.url in report.requests:  # refused by the policy: never sent
            report.requests.remove(request.url)

    page.on("requestfailed", failed)
    page.on("response", lambda resp: resp.status >= 400 and report.failed_requests.append(
        f"{resp.url}: HTTP {resp.status}"))
    page.on("dialog", lambda dialog: (report.dialogs.append(f"{dialog.type}: {dialog.message}"), dialog.dismiss()))
    page.on("request", lambda req: req.url.split(":", 1)[0].lower() in NETWORK_SCHEMES
            and not req.is_navigation_request() and report.requests.append(req.url))
    page.route(lambda url: not url.startswith(("file:", "data:", "about:")), lambda route: route.abort())
    page.expose_function(PWN, lambda mark: report.ran.append(str(mark)))
    page.expose_function("__csp_violation", lambda what: report.csp_violations.append(str(what)))
    page.expose_function("__settled", lambda: None)
    page.add_init_script(WATCH_INIT)
    return page


def settle(page) -> None:
    """Return once what the page has queued has run (a frame, then a task) and every earlier ``__pwn`` call has
    reached the report: the last call goes through the same binding, whose calls arrive in order."""
    page.evaluate("async () => { await new Promise(r => requestAnimationFrame(() => setTimeout(r, 0))); "
                  "await window.__settled(); }")


def open_watched(page, url: str) -> None:
    """Load ``url`` in a page of :func:`watched_page` and settle: what ran on load is in its report."""
    page.goto(url, wait_until="load", timeout=LOAD_TIMEOUT_MS)
    settle(page)


def click_everything(page, url: str) -> int:
    """Hover and click, on a fresh load of ``url`` each time it was left, every link, area, button, summary,
    form field and label and every element with an event-handler attribute.  A link to another page of the
    disk is followed (what that page runs is recorded too); a link to the web or to no file is hovered, not
    followed (nothing of this page runs there, and broken_links lists the missing); a download is hovered.
    Returns how many elements were clicked."""
    from playwright.sync_api import Error as PlaywrightError

    open_watched(page, url)
    count = page.evaluate(CLICKABLE_JS)
    clicked = 0
    for i in range(count):
        if page.url.split("#")[0] != url or page.evaluate(f"!document.querySelector('[data-watch-click=\"{i}\"]')"):
            open_watched(page, url)  # left, or the document was replaced (a javascript: URL's result)
            assert page.evaluate(CLICKABLE_JS) == count, f"{url}: another count of clickable elements on reload"
        state = page.evaluate(HOVER_JS, i)
        if not state["found"] or state["download"]:
            continue
        in_place = state["same"] or state["protocol"] in ("javascript:", "vbscript:", "data:")
        to_file = state["protocol"] == "file:" and Path(unquote(urlsplit(state["target"]).path)).exists()
        if not in_place and not to_file:
            settle(page)  # the hover's handlers, if any
            continue
        clicked += 1
        if in_place:
            page.evaluate(FIRE_CLICK_JS, i)
        else:
            with page.expect_navigation(wait_until="load", timeout=LOAD_TIMEOUT_MS):
                page.evaluate(FIRE_CLICK_JS, i)
        for _ in range(5):  # the click started a navigation (a form sent to this page, say): settle where it went
            try:
                settle(page)
                break
            except PlaywrightError as e:
                if "context was destroyed" not in str(e):
                    raise
                page.wait_for_load_state("load")
        else:
            raise RuntimeError(f"{url}: clicking element {i} set the page navigating again and again")
    return clicked


def inspect_page(browser, path: Path, screenshot: Path, *, click: bool = False) -> PageReport:
    """Open ``path`` (a local HTML file), wait for it to load, record what it showed, and take a full-page
    screenshot to ``screenshot``; with ``click``, then click everything (:func:`click_everything`)."""
    path = Path(path).resolve()
    report = PageReport(url=path.as_uri(), screenshot=Path(screenshot))
    page = watched_page(browser, report)
    try:
        open_watched(page, report.url)
        with contextlib.suppress(Exception):  # pages with nothing to fetch are idle at once
            page.wait_for_load_state("networkidle", timeout=10_000)
        report.ran_on_load = list(report.ran)
        report.csp = page.evaluate("() => { const m = document.head && document.head.firstElementChild; "
                                   "return m && m.localName === 'meta' && (m.getAttribute('http-equiv') || '')"
                                   ".toLowerCase() === 'content-security-policy' ? m.content : null; }")
        report.dangers = page.evaluate(DANGERS_JS)
        report.scripts = page.eval_on_selector_all(
            "script", "els => els.map(e => e.src || e.textContent.trim().slice(0, 80))")
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
        if click:
            report.clicked = click_everything(page, report.url)
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
