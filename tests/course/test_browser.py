"""What an instructor looks at, opened in a real browser (Debian's chromium, see support/browser.py): the course site
built from lessons executed for real, and a feedback page of a class graded for real.  These never skip: without
/usr/bin/chromium they fail and say what to install."""

from __future__ import annotations

import html
import re
import shutil
from pathlib import Path

import nbformat
import pytest

from course import launch
from course.safe_html import content_security_policy
from course.site import build_site, lesson_title
from grader import feedback, grade, release
from grader.demo import execute_notebook
from grader.exercise import load_exercises
from grader.sample_class import make_class
from support.browser import SCREENSHOTS, inspect_page, open_browser

ROOT = Path(__file__).resolve().parents[2]
LESSONS = ["01-start-a-cluster", "03-map-over-engines"]  # 03 draws figures
EXERCISE = "05-push-and-pull-variables"
MIN_SCREENSHOT_BYTES = 5_000
pytestmark = [pytest.mark.cluster, pytest.mark.timeout(900)]


@pytest.fixture(scope="module")
def browser():
    with open_browser() as b:
        yield b


@pytest.fixture(scope="module")
def site(cluster, mirror, tmp_path_factory):
    """The course site of lessons 01 and 03, executed against the session's cluster, with the released exercises."""
    tmp = tmp_path_factory.mktemp("site")
    assert release.main(source=ROOT / "exercises", out=tmp / "release") == 0
    executed = {}
    for name in LESSONS:
        path = ROOT / "notebooks" / f"{name}.ipynb"
        executed[name] = execute_notebook(nbformat.read(path, as_version=4), cwd=path.parent,
                                          ipython_dir=cluster.ipython_dir, mirror_url=mirror.url, name=path.name)
        cluster.verify()
    index = build_site(executed, tmp / "site", exercises_dir=tmp / "release")
    assert index == tmp / "site" / "index.html"
    return index.parent, {name: lesson_title(nb) for name, nb in executed.items()}


def screenshot(test: str, page: str) -> Path:
    return SCREENSHOTS / f"{test}-{page}.png"


def assert_clean(report, *, min_image_side: int = 0, links: bool = True):
    """The page's Content-Security-Policy first in its head and nothing it refused, no script, no console or
    page errors, no failed request, every image loaded (and larger than ``min_image_side``), (with ``links``)
    every link resolving offline, and a screenshot worth looking at."""
    assert report.csp == content_security_policy(), report.csp
    assert not report.csp_violations and not report.scripts and not report.dangers, (
        report.csp_violations, report.scripts, report.dangers)
    assert not report.console_errors, report.console_errors
    assert not report.failed_requests, report.failed_requests
    bad = [i for i in report.images if not i["complete"] or i["naturalWidth"] <= min_image_side
           or i["naturalHeight"] <= min_image_side]
    assert not bad, bad
    assert not (links and report.broken_links), report.broken_links
    assert report.screenshot.is_file() and report.screenshot.stat().st_size > MIN_SCREENSHOT_BYTES, report.screenshot


def test_site_index_lists_the_executed_lessons_with_working_links(site, browser):
    out, titles = site
    report = inspect_page(browser, out / "index.html", screenshot("site", "index"))
    assert_clean(report)
    for name, title in titles.items():
        assert title in report.text
        assert f"{name}.html" in report.links and f"exercises/{name}.ipynb" in report.links
    assert "What you'll learn" in report.text
    assert report.text.index(titles[LESSONS[0]]) < report.text.index(titles[LESSONS[1]])  # in course order
    assert not [link for link in report.links if link.startswith("02-")]  # only the lessons given
    for name in LESSONS:  # the student versions, as released: no solutions, no hidden tests
        exercise = (out / "exercises" / f"{name}.ipynb").read_text()
        assert "BEGIN SOLUTION" not in exercise and "BEGIN HIDDEN TESTS" not in exercise


@pytest.mark.parametrize("name", LESSONS)
def test_site_lesson_page_shows_the_executed_lesson_offline(site, browser, name):
    out, titles = site
    report = inspect_page(browser, out / f"{name}.html", screenshot("site", name))
    assert_clean(report, min_image_side=100)
    assert titles[name] in report.text
    assert "index.html" in report.links
    local = [link for link in report.links if not link.startswith("https://")]
    assert not [link for link in local if link.endswith(".ipynb") and not link.startswith("exercises/")]
    cfg = launch.load()  # and the launch links of the lesson and its exercise, on the hub and on Binder
    assert {link(cfg, f"{folder}/{name}.ipynb") for folder in ("notebooks", "exercises")
            for link in (launch.hub_link, launch.binder_link)} <= set(report.links) - set(local)
    if name == "03-map-over-engines":  # its figures, embedded as nbconvert embeds them
        assert len(report.images) >= 3, report.images
        assert all(i["src"].startswith("data:image/") for i in report.images), report.images
        assert "Amdahl" in report.text


def test_site_nav_bars_lead_to_the_previous_and_next_lessons_and_the_index(site, browser):
    out, titles = site
    first, second = (out / f"{name}.html" for name in LESSONS)
    page = browser.new_page()
    try:
        for bar in ("site-nav-top", "site-nav-bottom"):
            page.goto(first.as_uri())
            assert page.locator(f"nav.{bar} a.prev").count() == 0  # the first lesson has no previous one
            page.click(f"nav.{bar} a.next")
            assert page.url == second.as_uri()
            assert page.locator(f"nav.{bar} a.next").count() == 0  # nor the last a next one
            assert titles[LESSONS[0]] in page.inner_text(f"nav.{bar} a.prev")
            page.click(f"nav.{bar} a.prev")
            assert page.url == first.as_uri()
            page.click(f"nav.{bar} a.index")
            assert page.url == (out / "index.html").as_uri()
            page.click(f"a[href='{LESSONS[1]}.html']")
            assert page.url == second.as_uri() and titles[LESSONS[1]] in page.inner_text("body")
    finally:
        page.close()


def hidden_test_lines(source: Path, student_version) -> list[str]:
    """The distinctive lines of the source's ``### BEGIN HIDDEN TESTS`` blocks: long enough to mean something and
    nowhere in the student version (whose code a feedback page rightly shows)."""
    shown = "\n".join(cell.source for cell in student_version.cells)
    lines = []
    for cell in nbformat.read(source, as_version=4).cells:
        for block in re.findall(r"### BEGIN HIDDEN TESTS\n(.*?)### END HIDDEN TESTS", cell.source, re.S):
            lines += [line.strip() for line in block.splitlines()
                      if len(line.strip()) >= 16 and line.strip() not in shown]
    return lines


def test_feedback_page_shows_results_offline_and_never_a_hidden_test(tmp_path, browser):
    source = tmp_path / "source"
    source.mkdir()
    shutil.copy(ROOT / "exercises" / f"{EXERCISE}.ipynb", source)
    exercises = load_exercises(source)
    expected = make_class(exercises, tmp_path / "class", students=3)
    assert grade.main(submissions=tmp_path / "class", source=source, gradebook=tmp_path / "g.sqlite",
                      quiet=True, timeout=60) == 0
    assert feedback.main(gradebook=tmp_path / "g.sqlite", out=tmp_path / "feedback") == 0
    student = sorted(s for s, _ in expected)[0]  # student01-complete
    page = tmp_path / "feedback" / student / f"{EXERCISE}.html"

    report = inspect_page(browser, page, screenshot("feedback", student))
    assert_clean(report)  # a feedback page is read on its own: links to the course's files are plain text
    assert EXERCISE in report.text or "push" in report.text.lower()

    student_version, _ = release.student_version(exercises[EXERCISE].nb)
    hidden = hidden_test_lines(source / f"{EXERCISE}.ipynb", student_version)
    assert len(hidden) >= 5, hidden  # the check has something to look for
    raw = page.read_text()
    as_text = html.unescape(re.sub(r"<[^>]+>", "", raw))  # what highlighting split into spans, joined again
    leaked = [line for line in hidden
              if line in report.text or line in raw or html.escape(line) in raw or line in as_text]
    assert not leaked, leaked
