"""``grader report``: a static HTML report of a class, from a gradebook built here by recording results directly
(no cluster): statistics, the submissions to look at, near-identical answers, links that resolve offline and
names from submissions shown as text."""

from __future__ import annotations

import html
import re
from html.parser import HTMLParser
from pathlib import Path
from urllib.parse import unquote, urlsplit

import pytest

from grader import feedback, report, similar
from grader.gradebook import Gradebook
from grader.results import SubmissionResult
from support.reports import SCRIPT, STUDENTS, make_gradebook, report_pages


@pytest.fixture(scope="module")
def gradebook(tmp_path_factory) -> Path:
    return make_gradebook(tmp_path_factory.mktemp("book") / "gradebook.sqlite")


@pytest.fixture(scope="module")
def built(gradebook, tmp_path_factory) -> Path:
    out = tmp_path_factory.mktemp("report") / "report"
    assert report.main(gradebook=gradebook, out=out) == 0
    return out


class Refs(HTMLParser):
    def __init__(self):
        super().__init__()
        self.refs: list[tuple[str, str]] = []
        self.ids: set[str] = set()

    def handle_starttag(self, tag, attrs):
        attrs = dict(attrs)
        if "id" in attrs:
            self.ids.add(attrs["id"])
        for name in ("href", "src"):
            if attrs.get(name) is not None:
                self.refs.append((tag, attrs[name]))


def parse(page: Path) -> Refs:
    refs = Refs()
    refs.feed(page.read_text())
    return refs


def text_of(page: Path) -> str:
    return html.unescape(re.sub(r"\s+", " ", re.sub(r"<[^>]+>", " ", page.read_text())))


def assert_links_resolve(out: Path, feedback_dir: Path) -> int:
    """Every href/src of every report page is a file inside ``out`` or ``feedback_dir`` (fragments exist too)."""
    checked = 0
    for page in report_pages(out):
        for tag, ref in parse(page).refs:
            parts = urlsplit(ref)
            assert not parts.scheme and not parts.netloc, f"{page.name}: {ref} is not a relative link"
            target = (page.parent / unquote(parts.path)).resolve() if parts.path else page.resolve()
            assert target.is_file(), f"{page.name}: {tag} {ref} -> {target} does not exist"
            assert target.is_relative_to(out.resolve()) or target.is_relative_to(feedback_dir.resolve()), (
                f"{page.name}: {ref} leaves the report and feedback folders")
            if parts.fragment and target.suffix == ".html":
                assert unquote(parts.fragment) in parse(target).ids, f"{page.name}: {ref}: no such anchor"
            checked += 1
    return checked


def test_report_pages_figures_and_links(built):
    index = built / "index.html"
    assert index.is_file() and (built / "by-score.html").is_file()
    figures = set()
    for page in report_pages(built):
        text = page.read_text()
        assert "http://" not in text and "https://" not in text, f"{page.name} refers to the network"
        for tag, src in parse(page).refs:
            if tag == "img":
                figures.add((page.parent / unquote(src)).resolve())
        assert all('alt="' in img for img in re.findall(r"<img [^>]*>", text)), f"{page.name}: an image has no alt"
    # 2 exercise distributions; 01-squares: q1-test, q1-hidden, q2 (3 graded); ps1/problems: mean-test
    assert len(figures) == 6, figures
    for figure in figures:
        data = figure.read_bytes()
        assert data[:8] == b"\x89PNG\r\n\x1a\n" and len(data) > 2000, (figure, len(data))
        assert figure.parent == built / "figures"
    assert assert_links_resolve(built, built / "feedback") > 30
    # every submission's feedback page is linked from the student table
    links = [unquote(ref) for _, ref in parse(index).refs if ref.startswith("feedback/")]
    assert "feedback/alice/01-squares.html" in links and "feedback/alice/ps1/problems.html" in links
    assert f"feedback/{SCRIPT}/01-squares.html" in links
    assert len(set(links)) == 2 * len(STUDENTS)


def test_statistics_shown(built):
    squares = text_of(built / "exercise-1.html")
    assert "Exercise 01-squares" in squares
    assert "mean 2, median 1.5 of 5 points" in squares  # totals 5, 4, 3 (2 pending), 0, 0, 0
    assert "Passed by 3/6 (50%); mean 1, median 1." in squares  # q1-test
    assert "3/6 graded (50%), 3 pending (50%); mean 1, median 1 over the answers graded so far" in squares  # q2
    assert "AssertionError: expected N, got N" in squares  # dave's "got 3" and erin's "got 4" grouped
    row = re.search(r"<tr><td><pre class=\"msg\">AssertionError: expected N, got N</pre></td><td class=\"n\">(\d+)<",
                    (built / "exercise-1.html").read_text())
    assert row and row.group(1) == "2"
    assert "HIDDEN-CODE" not in squares  # a hidden test's code is never shown (its message is)
    problems = text_of(built / "exercise-2.html")
    assert "Exercise ps1/problems" in problems and "mean 2, median 3 of 3 points" in problems
    assert "Passed by 4/6 (67%)" in problems
    index = text_of(built / "index.html")
    assert "01-squares q1-test 50% (3/6)" in index  # among the hardest tests


def test_statistics_computed(gradebook):
    with Gradebook(gradebook) as book:
        exercises = {e.key: e for e in report.exercise_stats(book.submissions())}
    squares = exercises["01-squares"]
    tests = {t.name: t for t in squares.tests}
    assert (tests["q1-test"].mean, tests["q1-test"].median, tests["q1-test"].pass_share) == (1, 1, 0.5)
    assert tests["q1-test"].failures[0][:2] == ("AssertionError: expected N, got N", 2)
    assert (tests["q2"].graded_share, tests["q2"].pending_share, tests["q2"].mean) == (0.5, 0.5, 1)
    assert squares.all_passed_share == pytest.approx(0.5)
    problems = exercises["ps1/problems"]
    assert (problems.mean, problems.median, problems.errors) == (2, 3, 1)
    hardest = [(e.key, t.name) for e, t in report.hardest_tests(list(exercises.values()))]
    assert hardest[:2] == [("01-squares", "q1-test"), ("01-squares", "q1-hidden")]
    assert report.normalise_message("ValueError: <object at 0x7f3a2b> has 12 items, not 3.5") == \
        "ValueError: <object at 0x…> has N items, not N"


def test_submissions_to_look_at(built):
    page = (built / "index.html").read_text()

    def section(name: str) -> str:
        return page.split(f'id="{name}"')[1].split("<h3")[0]

    assert "dave" in section("errors") and "not a notebook" in section("errors")
    assert "q1-hidden" in section("timeouts") and html.escape(SCRIPT) in section("timeouts")
    assert "carol" in section("crashes") and "kernel died" in section("crashes")
    late = section("late")
    assert "alice" in late and "-1 of 5" in late and "45.0 h" in late  # 2 days begun x 10% of 5
    assert "bob" in section("flags") and "was changed and has been restored" in section("flags")
    for name, _student, target in (("errors", "dave", "feedback/dave/ps1/problems.html"),
                                  ("late", "alice", "feedback/alice/01-squares.html")):
        assert f'href="{target}"' in section(name)


def test_similar_answers(built, gradebook):
    with Gradebook(gradebook) as book:
        found = similar.answers(book, book.submissions())
        pairs = similar.similar_pairs(found)
    students = {(p.key, p.question, p.a.result.student, p.b.result.student) for p in pairs}
    assert students == {("01-squares", "q1", "alice", "bob")}, students
    pair = pairs[0]
    assert min(pair.similarity) >= similar.THRESHOLD
    # the stub as released and answers too short to fingerprint are not compared
    assert SCRIPT not in {a.result.student for a in found[("01-squares", "q1")]}
    assert "erin" not in {a.result.student for a in found[("01-squares", "q2")]}
    index = text_of(built / "index.html")
    assert "01-squares q1 alice bob 100% 100% side by side" in index
    side = built / "similar" / "1.html"
    assert side.is_file() and not (built / "similar" / "2.html").exists()
    text = side.read_text()
    assert "acc" in text and "total" in text and 'class="hll"' in text
    assert 'href="../feedback/alice/01-squares.html"' in text and 'href="../feedback/bob/01-squares.html"' in text


def test_renamed_and_reformatted_code_is_caught_by_copydetect():
    """copydetect tokenises with pygments: names become V, comments and whitespace go, so only the structure
    is compared."""
    def answer(student, source):
        return similar.Answer(SubmissionResult(student, "ex", "", ""), "q", source, "code")

    renamed = ("def f(a, b):\n    out = []\n    for item in a:\n        if item not in b:\n"
               "            out.append(item * 2)\n    return out")
    original = ("def g(xs, ys):  # the difference, doubled\n    result = []\n    for x in xs:\n\n"
                "        if x not in ys:\n            result.append(x*2)\n    return result")
    other = "def f(a, b):\n    return [2 * item for item in a if item not in set(b)]"
    pairs = similar.similar_pairs({("ex", "q"): [answer("a", original), answer("b", renamed), answer("c", other)]})
    assert [(p.a.result.student, p.b.result.student) for p in pairs] == [("a", "b")]
    assert pairs[0].similarity == (1.0, 1.0)


def test_scaffolding_the_class_shares_does_not_pair_answers():
    """Code most of the class has in the cell (given with the question) is not evidence: fingerprints more than
    half the answers share are ignored, so answers that differ only in what the students wrote stay apart."""
    given = ("def check(values):\n    if not isinstance(values, list):\n"
             "        raise TypeError('values must be a list')\n"
             "    if any(not isinstance(v, int) for v in values):\n        raise TypeError('values must be ints')\n"
             "    return values\n\n")
    bodies = ["result = sum(check(data)) / len(data)", "result = max(check(data), default=None)",
              "result = sorted(set(check(data)))[:3]", "result = {v: data.count(v) for v in check(data)}"]
    group = [similar.Answer(SubmissionResult(f"s{i}", "ex", "", ""), "q", given + body, "code")
             for i, body in enumerate(bodies)]
    assert similar.similar_pairs({("ex", "q"): group}) == []
    # a body copied by two of them is still found
    group[1] = similar.Answer(group[1].result, "q", given + "# mine\nanswer = {x: data.count(x) for x in check(data)}",
                             "code")
    pairs = similar.similar_pairs({("ex", "q"): group})
    assert [(p.a.result.student, p.b.result.student) for p in pairs] == [("s1", "s3")]


def test_student_names_are_escaped(built):
    for page in report_pages(built):
        text = page.read_text()
        assert SCRIPT not in text and "<b>adds</b>" not in text, page.name
    index = (built / "index.html").read_text()
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in index
    assert index.count("<script>") == 1  # the sorting code only


def test_student_tables(built):
    index, by_score = (built / "index.html").read_text(), (built / "by-score.html").read_text()

    def order(page: str) -> list[str]:
        body = page.split('id="students"')[1].split("</table>")[0]
        return [html.unescape(m) for m in re.findall(r"<tr><td>([^<]*)</td>", body)]

    names = sorted(STUDENTS)
    assert order(index) == names
    # finals: alice 5 - 1 + 3 = 7, bob 4 + 3 = 7, carol 3 + 0, dave 0, erin 0 + 3, <script> 0 + 3 (ties by name)
    assert order(by_score) == ["alice", "bob", SCRIPT, "carol", "erin", "dave"]
    alice = index.split('id="students"')[1].split("<tr><td>alice</td>")[1].split("</tr>")[0]
    cells = re.findall(r'data-sort="([^"]*)"', alice)
    assert [float(c) for c in cells] == [8, 8, 0, 1, 7]  # total, possible, pending, penalty, final
    assert 'class="sortable"' in index and "localeCompare" in index
    script = index.split("<script>")[1].split("</script>")[0]
    assert "&#34;" not in script and "&amp;" not in script and "&#39;" not in script  # the code itself is not escaped
    assert ".pair > div" in index  # nor the CSS


def test_existing_feedback_folder_is_linked(gradebook, tmp_path):
    fb = tmp_path / "pages" / "feedback"
    assert feedback.main(gradebook=gradebook, out=fb, quiet=True) == 0
    out = tmp_path / "site" / "report"
    assert report.main(gradebook=gradebook, out=out, feedback=fb) == 0
    assert not (out / "feedback").exists()
    assert 'href="../../pages/feedback/alice/01-squares.html"' in (out / "index.html").read_text()
    assert assert_links_resolve(out, fb) > 30


def test_missing_gradebook(tmp_path, capsys):
    assert report.main(gradebook=tmp_path / "nope.sqlite", out=tmp_path / "r") == 2
    err = capsys.readouterr().err.strip()
    assert len(err.splitlines()) == 1 and "nope.sqlite" in err
    assert not (tmp_path / "r").exists()
