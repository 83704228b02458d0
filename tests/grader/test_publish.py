"""``grader publish``: the student repository's tree holds the lessons and released exercises, what the launch
links open, and nothing that release removes from the exercises."""

from __future__ import annotations

from pathlib import Path

import pytest

from course.launch import binder_link, hub_link, load
from grader import cli
from grader.book import build_book
from grader.exercise import load_exercises
from grader.publish import FOLDERS, PublishError, leaks, public_lines, publish, secret_lines
from grader.release import student_versions

ROOT = Path(__file__).resolve().parents[2]


@pytest.fixture(scope="module")
def published(tmp_path_factory):
    out = tmp_path_factory.mktemp("student-repo")
    (out / ".git").mkdir()
    (out / ".git" / "HEAD").write_text("ref: refs/heads/main\n")
    (out / "notebooks").mkdir()
    (out / "notebooks" / "stale.ipynb").write_text("{}")  # from an older publish: replaced whole
    assert cli.main(["publish", str(out)]) == 0
    return out


def test_the_tree_holds_lessons_released_exercises_and_what_binder_needs(published):
    assert sorted(p.name for p in (published / "notebooks").glob("*.ipynb")) == sorted(
        p.name for p in (ROOT / "notebooks").glob("*.ipynb"))
    assert sorted(p.name for p in (published / "exercises").glob("*.ipynb")) == sorted(
        p.name for p in (ROOT / "exercises").glob("*.ipynb"))
    for name in ("binder/start", "binder/postBuild", "binder/environment.yml", "pyproject.toml", "README.md",
                 "course/launch.toml", "data/ngrams/manifest.json"):
        assert (published / name).is_file(), name
    assert (published / ".git" / "HEAD").read_text() == "ref: refs/heads/main\n"
    for absent in ("samples", "tests", "benchmarks", "deploy", "docs"):
        assert not (published / absent).exists(), absent


def test_no_solution_hidden_test_or_mark_scheme_is_published(published):
    exercises = load_exercises(ROOT / "exercises")
    released = {k: nb for k, (nb, _) in student_versions(exercises).items()}
    secret = secret_lines({k: e.nb for k, e in exercises.items()}, released, public_lines(ROOT))
    assert len(secret) > 100  # the check has something to look for
    assert leaks(published, secret) == []
    for path in (published / "exercises").glob("*.ipynb"):
        text = path.read_text()
        assert "BEGIN SOLUTION" not in text and "BEGIN HIDDEN TESTS" not in text, path.name


def test_every_launch_link_of_the_site_opens_a_file_of_the_tree(published, tmp_path):
    index = build_book(tmp_path / "site", {}, published / "exercises", notebooks=published / "notebooks")
    cfg = load()
    lessons = sorted((published / "notebooks").glob("[0-9][0-9]-*.ipynb"))
    pages = "".join((index.parent / "lessons" / f"{p.stem}.html").read_text(encoding="utf-8") for p in lessons)
    targets = [f"{folder}/{p.name}" for folder in ("notebooks", "exercises")
               for p in (published / folder).glob("*.ipynb")]
    assert len(targets) > len(lessons)
    for path in targets:
        assert hub_link(cfg, path).replace("&", "&amp;") in pages and binder_link(cfg, path) in pages, path
        assert (published / path).is_file()


def test_a_tree_that_would_leak_is_not_published(tmp_path):
    # a clone whose data/ holds a copy of an exercise's solution: refused, and nothing is left behind
    root = tmp_path / "clone"
    root.mkdir()
    for name in [*FOLDERS, "pyproject.toml", "environment.yml", "docs", "exercises"]:
        if name != "data":
            (root / name).symlink_to(ROOT / name)
    (root / "data").mkdir()
    (root / "data" / "notes.txt").write_bytes((ROOT / "exercises" / "05-push-and-pull-variables.ipynb").read_bytes())
    out = tmp_path / "out"
    with pytest.raises(PublishError, match="data/notes.txt"):
        publish(out, root / "exercises", root=root)
    assert sorted(p.name for p in out.iterdir()) == []


def test_publish_from_a_folder_that_is_not_the_course_says_so(tmp_path, capsys):
    assert cli.main(["publish", str(tmp_path / "out"), "--source", str(tmp_path / "nowhere")]) == 2
    assert "grader publish:" in capsys.readouterr().err
