"""``grader feedback``: an HTML page per submission with its executed notebook and each test's result.

The pipeline: RemoveHiddenTests -> ClearMarkScheme (task cells) -> DropLocalLinks -> ReportTests, then
course.site.offline_exporter's SafeNotebook (outputs reduced to data), its sanitised markdown and HTML and its
Content-Security-Policy: a page shows what the submission holds and runs none of it (see course.safe_html)."""

from __future__ import annotations

import json
import sys
from pathlib import Path

import nbformat

from course.site import offline_exporter

from .capped import MAX_EXECUTED_BYTES, write_capped
from .export import gradescope_results
from .gradebook import Gradebook
from .preprocessors.clear_mark_scheme import ClearMarkScheme
from .preprocessors.drop_local_links import DropLocalLinks
from .preprocessors.remove_hidden_tests import RemoveHiddenTests
from .preprocessors.report_tests import ReportTests
from .progress import Progress


def main(*, gradebook: str | Path = "gradebook.sqlite", out: str | Path = "feedback", quiet: bool = False) -> int:
    if not Path(gradebook).is_file():
        print(f"grader feedback: {gradebook}: no gradebook here; run `grader grade` first or pass --gradebook",
              file=sys.stderr)
        return 2
    out = Path(out)
    exporter = offline_exporter(preprocessors=[RemoveHiddenTests, ClearMarkScheme(strict=False), DropLocalLinks,
                                               ReportTests])
    with Gradebook(gradebook) as book:
        results = book.submissions()
        progress = Progress(len(results), "feedback", quiet=quiet)
        for r in results:
            folder = out / r.student / r.assignment if r.assignment else out / r.student
            folder.mkdir(parents=True, exist_ok=True)
            (folder / f"{r.exercise}.results.json").write_text(json.dumps(gradescope_results(r), indent=2) + "\n")
            executed = book.executed_notebook(r.student, r.exercise, r.assignment)
            nb = _executed(executed)
            body, _ = exporter.from_notebook_node(nb, resources={"grader_result": r})
            (folder / f"{r.exercise}.html").write_text(body)
            progress.update(f"{r.student}/{r.key}")
        progress.close()
    layout = ("<student>/<assignment>/<notebook>.html" if any(r.assignment for r in results)
              else "<student>/<exercise>.html")
    print(f"wrote feedback for {len(results)} submission(s) to {out}/{layout}")
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
    except Exception:  # feedback for the others is still written
        return nbformat.v4.new_notebook()
