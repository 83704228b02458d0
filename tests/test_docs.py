"""The front door and the documentation: README.md stays short, and no relative link in it or in docs/ is broken."""

import re
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
LINK = re.compile(r"\]\(([^)\s]+)\)")


def broken_links(page: Path) -> list[str]:
    """Relative links of the markdown ``page`` whose file does not exist (web addresses and same-page anchors
    are not checked)."""
    bad = []
    for target in LINK.findall(page.read_text()):
        path = target.split("#", 1)[0]
        if not path or re.match(r"[a-z]+:", target):
            continue
        if not (page.parent / path).exists():
            bad.append(f"{page.relative_to(ROOT)}: {target}")
    return bad


def test_readme_is_a_front_door():
    text = (ROOT / "README.md").read_text()
    assert len(text.splitlines()) <= 130
    assert "python3 dev.py demo" in text and "python3 dev.py test" in text
    for page in ("docs/students.md", "docs/instructors.md", "docs/threat-model.md", "docs/developers.md"):
        assert f"]({page})" in text, page


def test_no_relative_link_is_broken():
    pages = [ROOT / "README.md", *sorted((ROOT / "docs").glob("*.md"))]
    assert [bad for page in pages for bad in broken_links(page)] == []


def test_the_link_check_finds_a_broken_link(tmp_path, monkeypatch):
    monkeypatch.setattr(__import__(__name__), "ROOT", tmp_path)
    (tmp_path / "there.md").write_text("x")
    page = tmp_path / "page.md"
    page.write_text("[ok](there.md) [web](https://example.org/x) [anchor](#top) [gone](missing.md#part)")
    assert broken_links(page) == ["page.md: missing.md#part"]
