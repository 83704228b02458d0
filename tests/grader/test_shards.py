"""A class graded in shares (``grader grade --shard K/N``) and merged (``grader merge``) gets exactly the grades
of one local run."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest

from grader import grade, merge
from grader.exercise import load_exercises
from grader.gradebook import Gradebook, answer_sha
from grader.results import PENDING, SubmissionResult, TestResult
from grader.sample_class import make_class

ROOT = Path(__file__).resolve().parents[2]


def test_shares_cover_every_student_once_whatever_else_is_in_the_class():
    students = [f"student{i:03d}" for i in range(300)] + ["Zoë", "o'neil", "=x"]
    for n in (1, 2, 3, 7):
        shares = [{s for s in students if grade.shard_of(s, n) == k} for k in range(n)]
        assert set().union(*shares) == set(students) and sum(map(len, shares)) == len(students)
        if n > 1:
            assert all(len(share) > len(students) / n / 2 for share in shares)  # no share nearly empty
    # a student's share depends on the name alone, not on who else is in the class
    shards = [grade.shard_of(s, 4) for s in students[:10]]
    assert shards == [grade.shard_of(s, 4) for s in reversed(students[:10])][::-1]


@pytest.mark.parametrize("text", ["1", "4/4", "-1/3", "a/b", "1/0"])
def test_a_shard_that_cannot_be_read_is_a_usage_error(text, tmp_path, capsys):
    (tmp_path / "subs").mkdir()
    assert grade.main(submissions=tmp_path / "subs", source=ROOT / "exercises", gradebook=tmp_path / "g.sqlite",
                      shard=text, quiet=True) == 2
    assert "--shard" in capsys.readouterr().err


def row(student, points, finished, answer="a"):
    return SubmissionResult(student, "problem1", "p", "sum", [
        TestResult("t", points, 5.0, "passed" if points == 5 else "failed"),
        TestResult("essay", 0.0, 3.0, PENDING, kind="manual", answer=answer)], max_points=8, assignment="ps1",
        finished=finished, started=finished)


def test_merge_keeps_the_newer_result_says_so_and_carries_scores_given_by_hand(tmp_path, capsys):
    a, b, out = tmp_path / "a.sqlite", tmp_path / "b.sqlite", tmp_path / "all.sqlite"
    with Gradebook(a) as book:
        book.record(row("ann", 5, "2026-01-10T10:00:00+00:00"))
        book.record(row("bob", 2, "2026-01-10T10:00:00+00:00"))
    with Gradebook(b) as book:
        book.record(row("bob", 4, "2026-01-10T11:00:00+00:00"))  # bob graded again, later: this one counts
        book.record(row("cid", 1, "2026-01-10T11:00:00+00:00"))
        book.record_manual([{"student": "cid", "assignment": "ps1", "exercise": "problem1", "test": "essay",
                             "points": 2.0, "comment": "ok", "answer_sha": answer_sha("a"),
                             "graded_at": "2026-01-11T00:00:00+00:00"}])
    assert merge.main(out=out, gradebooks=[a, b]) == 0
    captured = capsys.readouterr()
    assert "ps1/problem1" in captured.err and "bob" in captured.err and "kept the newer one from" in captured.err
    with Gradebook(out) as book:
        got = {r.student: r.total for r in book.submissions()}
    assert got == {"ann": 5, "bob": 4, "cid": 3}
    assert merge.main(out=a, gradebooks=[a, b]) == 2  # never onto one of its inputs


@pytest.mark.cluster
@pytest.mark.timeout(900)
def test_two_shards_merged_grade_exactly_as_one_local_run(tmp_path):
    source = tmp_path / "src"
    source.mkdir()
    shutil.copy(ROOT / "exercises" / "05-push-and-pull-variables.ipynb", source)
    exercises = load_exercises(source)
    make_class(exercises, tmp_path / "class", students=6, seed=7)
    assert grade.main(submissions=tmp_path / "class", source=source, gradebook=tmp_path / "local.sqlite",
                      quiet=True) == 0
    shards = [tmp_path / f"shard{k}.sqlite" for k in range(2)]
    for k, book in enumerate(shards):
        assert grade.main(submissions=tmp_path / "class", source=source, gradebook=book, shard=f"{k}/2",
                          quiet=True) == 0
    assert merge.main(out=tmp_path / "merged.sqlite", gradebooks=shards) == 0

    def grades(path):
        with Gradebook(path) as book:
            return {(r.student, r.exercise): [(t.test, t.points, t.status) for t in r.tests]
                    for r in book.submissions()}

    local = grades(tmp_path / "local.sqlite")
    assert all(grades(b) for b in shards) and sum(len(grades(b)) for b in shards) == len(local) == 6
    assert grades(tmp_path / "merged.sqlite") == local
