"""``grader feedback``: an HTML page per submission with its executed notebook and each test's result."""

from __future__ import annotations

import json
import sys
from pathlib import Path

import nbformat
from nbconvert import HTMLExporter

from .export import gradescope_results
from .gradebook import Gradebook
from .preprocessors.remove_hidden_tests import RemoveHiddenTests
from .preprocessors.report_tests import ReportTests


def main(*, gradebook: str | Path = "gradebook.sqlite", out: str | Path = "feedback") -> int:
    if not Path(gradebook).is_file():
        print(f"grader feedback: {gradebook}: no gradebook here; run `grader grade` first or pass --gradebook",
              file=sys.stderr)
        return 2
    out = Path(out)
    exporter = HTMLExporter(preprocessors=[RemoveHiddenTests, ReportTests])
    with Gradebook(gradebook) as book:
        results = book.submissions()
        for r in results:
            folder = out / r.student
            folder.mkdir(parents=True, exist_ok=True)
            (folder / f"{r.exercise}.results.json").write_text(json.dumps(gradescope_results(r), indent=2) + "\n")
            executed = book.executed_notebook(r.student, r.exercise)
            nb = nbformat.reads(executed, as_version=4) if executed else nbformat.v4.new_notebook()
            body, _ = exporter.from_notebook_node(nb, resources={"grader_result": r})
            (folder / f"{r.exercise}.html").write_text(body)
    print(f"wrote feedback for {len(results)} submission(s) to {out}/<student>/<exercise>.html")
    return 0


