"""``grader report`` opened in a real browser (Debian's chromium, see support/browser.py), from disk: the index, the
students by score and a pair of similar answers load cleanly, their figures load, their links resolve, and the
student table sorts on a header click.  No cluster: the gradebook is recorded directly (tests/grader/test_report.py)."""

from __future__ import annotations

import pytest

from course.safe_html import content_security_policy
from grader import report
from grader.report import SORT_JS
from support.browser import SCREENSHOTS, inspect_page, open_browser
from support.reports import SCRIPT, STUDENTS, make_gradebook

MIN_IMAGE_SIDE = 100
MIN_SCREENSHOT_BYTES = 5_000


@pytest.fixture(scope="module")
def browser():
    with open_browser() as b:
        yield b


@pytest.fixture(scope="module")
def built(tmp_path_factory):
    tmp = tmp_path_factory.mktemp("report-browser")
    gradebook = make_gradebook(tmp / "gradebook.sqlite")
    assert report.main(gradebook=gradebook, out=tmp / "report") == 0
    return tmp / "report"


def assert_clean(page):
    """As course/test_browser.py's, and the page has its policy (its one script, the sorting code, by its hash)."""
    assert page.csp == content_security_policy([SORT_JS] if page.scripts else []), page.csp
    assert not page.csp_violations and not page.ran and not page.dangers, (page.csp_violations, page.ran, page.dangers)
    assert not page.console_errors, page.console_errors
    assert not page.failed_requests, page.failed_requests
    bad = [i for i in page.images if not i["complete"] or i["naturalWidth"] <= MIN_IMAGE_SIDE
           or i["naturalHeight"] <= MIN_IMAGE_SIDE]
    assert not bad, bad
    assert not page.broken_links, page.broken_links
    assert not page.external_links, page.external_links
    assert page.screenshot.is_file() and page.screenshot.stat().st_size > MIN_SCREENSHOT_BYTES


@pytest.mark.parametrize("name, page", [("index", "index.html"), ("by-score", "by-score.html"),
                                        ("similar", "similar/1.html"), ("exercise", "exercise-1.html")])
def test_report_page_is_clean(built, browser, name, page):
    shown = inspect_page(browser, built / page, SCREENSHOTS / f"report-{name}.png")
    assert_clean(shown)
    assert len(shown.scripts) == (name in ("index", "by-score"))
    if name in ("index", "by-score"):
        assert SCRIPT in shown.text  # shown as text, never run
        assert all(student in shown.text for student in STUDENTS)
    if name == "exercise":
        assert len(shown.images) == 4  # the exercise's distribution and one per test
    if name == "similar":
        assert "alice" in shown.text and "bob" in shown.text and "acc" in shown.text


def test_student_table_sorts_on_click(built, browser):
    page = browser.new_page()
    errors = []
    page.on("pageerror", lambda exc: errors.append(str(exc)))
    page.on("dialog", lambda dialog: errors.append(f"dialog: {dialog.message}"))  # alert(1) would land here
    try:
        page.goto((built / "index.html").as_uri(), wait_until="load")
        def names():
            return page.eval_on_selector_all("#students tbody tr", "rows => rows.map(r => r.cells[0].textContent)")

        assert names() == sorted(STUDENTS)
        final = page.locator("#students thead th", has_text="final")
        final.click()
        finals = page.eval_on_selector_all("#students tbody tr", "rows => rows.map(r => +r.cells[5].dataset.sort)")
        assert finals == sorted(finals)
        final.click()
        assert names()[:2] == ["alice", "bob"]  # 7 points each, highest first
        page.locator("#students thead th", has_text="student").click()
        assert names() == sorted(STUDENTS, key=lambda s: s.lower()) or names() == sorted(STUDENTS)
        assert not errors, errors
    finally:
        page.close()
