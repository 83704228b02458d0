"""grader.cost: the benchmark's record of what a submission costs, checked and made a documentation page.

The record is written by ``benchmarks/profile_grading.py --record`` from a class it grades for real (here a small
one, in sealed boxes), never typed; the page shows every figure of it."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

from grader import cost

ROOT = Path(__file__).resolve().parents[2]


def _record(**changes):
    record = {"measured_at": "2026-12-07T05:00:00+00:00", "commit": "7f72de1", "command":
              "python benchmarks/profile_grading.py --students 4", "cpus": 2, "memory_gib": 23.4, "load_before": 0.5,
              "workers": 1, "sandbox": True, "submissions": 68, "scored_as_expected": 68,
              **{key: 0.25 + i for i, key in enumerate(cost.FIGURES)}}
    record["prepare_share"] = record["fresh_slot_share_of_cpu"] = 0.375
    return {**record, **changes}


@pytest.mark.timeout(600)
def test_the_benchmark_records_the_figures_of_a_class_it_graded(tmp_path):
    out = tmp_path / "cost.json"
    done = subprocess.run([sys.executable, "benchmarks/profile_grading.py", "--students", "1", "--exercises", "2",
                           "--record", str(out)], cwd=ROOT, capture_output=True, text=True, timeout=540)
    assert done.returncode == 0, done.stdout[-2000:] + done.stderr[-3000:]
    record = cost.load(out)
    assert (tmp_path / "cost.md").read_text(encoding="utf-8") == cost.page(record)
    assert record["submissions"] == record["scored_as_expected"] == 2
    assert record["sandbox"] is True and record["workers"] == 1
    assert record["command"] == "python benchmarks/profile_grading.py --students 1 --exercises 2"
    assert 0 < record["seconds_per_submission_p50"] <= record["seconds_per_submission_p99"]
    assert 0 < record["box_seconds_per_submission"] < record["prepare_seconds_per_submission"]
    assert 0 < record["prepare_share"] < 1 and 0 < record["fresh_slot_share_of_cpu"] <= 1
    assert 0 < record["grader_cpu_seconds_per_submission"] < record["cpu_seconds_per_submission"]
    assert record["submissions_per_minute_per_core"] > 0


def test_the_page_shows_every_figure_of_the_record():
    record = _record(submissions_per_minute_per_core=2.26)
    page = cost.page(record)
    assert page.startswith("# What grading costs")
    for key, (fmt, what) in {**cost.RUN, **cost.FIGURES}.items():
        assert f"| {what} | {cost.shown(fmt, record[key])} |" in page, key
    assert "| submissions graded per minute, per CPU of the machine | 2.3 |" in page
    assert "| every submission in a sealed box (namespaces, cgroup, seccomp, no network) | yes |" in page
    assert "38%" in page and "2026-12-07" in page and "`python benchmarks/profile_grading.py --students 4`" in page


@pytest.mark.parametrize("change, fault", [
    ({"seconds_per_submission_p99": None}, "'seconds_per_submission_p99' is None"),
    ({"sandbox": 1}, "'sandbox' is 1"),
    ({"submissions": True}, "'submissions' is True"),
    ({"cpu_seconds_per_submission": -1.0}, "'cpu_seconds_per_submission' is -1.0"),
    ({"commit": "<script>"}, "'commit' is '<script>'"),
    ({"command": "python x.py`</a>`"}, "'command' is"),
])
def test_a_record_with_a_wrong_value_names_its_file_and_key(tmp_path, change, fault):
    path = tmp_path / "cost.json"
    path.write_text(json.dumps(_record(**change)))
    with pytest.raises(cost.CostRecordError, match=r"cost\.json: " + fault.replace("(", r"\(")):
        cost.load(path)


def test_a_record_missing_a_figure_or_unreadable_says_how_to_write_it_again(tmp_path):
    record = _record()
    del record["prepare_share"]
    path = tmp_path / "cost.json"
    path.write_text(json.dumps(record))
    with pytest.raises(cost.CostRecordError, match=r"no 'prepare_share'; write it again with python benchmarks/"):
        cost.load(path)
    path.write_text("{not json")
    with pytest.raises(cost.CostRecordError, match="could not be read as JSON"):
        cost.load(path)


def test_the_cost_page_of_the_docs_is_made_from_the_record_beside_it():
    record = cost.load(ROOT / "docs" / "cost.json")
    assert (ROOT / "docs" / "cost.md").read_text(encoding="utf-8") == cost.page(record)
    assert record["command"].startswith("python benchmarks/profile_grading.py")
    assert record["submissions"] == record["scored_as_expected"] > 0
