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
from .preprocessors.execute_submission import MAX_EXECUTED_BYTES, write_capped
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
            nb = _executed(executed)
            body, _ = exporter.from_notebook_node(nb, resources={"grader_result": r})
            (folder / f"{r.exercise}.html").write_text(body)
    print(f"wrote feedback for {len(results)} submission(s) to {out}/<student>/<exercise>.html")
    return 0


def _executed(text: str | None, max_bytes: int = MAX_EXECUTED_BYTES):
    """The stored executed notebook, cut to ``max_bytes`` as grading cuts it (a gradebook from before the cap may
    hold more); one that cannot be read is shown as an empty notebook."""
    if not text:
        return nbformat.v4.new_notebook()
    try:
        nb = nbformat.reads(text, as_version=4)
        if len(text) * 4 > max_bytes and len(text.encode()) > max_bytes:
            nb = nbformat.reads(write_capped(nb, max_bytes), as_version=4)
        return nb
    except Exception:  # noqa: BLE001 - feedback for the others is still written
        return nbformat.v4.new_notebook()
