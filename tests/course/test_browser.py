"""What an instructor looks at, opened in a real browser (Debian's chromium, see support/browser.py): a feedback page
of a class graded for real (the course's documentation site is tests/grader/test_book.py's).  These never skip: without
/usr/bin/chromium they fail and say what to install."""

from __future__ import annotations

import html
import re
import shutil
from pathlib import Path

import nbformat
import pytest

from course.safe_html import content_security_policy
from grader import feedback, grade, release
from grader.exercise import load_exercises
from grader.sample_class import make_class
from support.browser import SCREENSHOTS, inspect_page, open_browser

ROOT = Path(__file__).resolve().parents[2]
EXERCISE = "05-push-and-pull-variables"
MIN_SCREENSHOT_BYTES = 5_000
pytestmark = [pytest.mark.timeout(900)]


@pytest.fixture(scope="module")
def browser():
    with open_browser() as b:
        yield b


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
