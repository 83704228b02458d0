"""Hostile submissions as data: the payloads of tests/files/hostile-payloads.json put in every place a student
controls: a gradebook (names, messages, flags, comments) and the executed notebooks stored in it (markdown, raw
cells, every kind of output, metadata).  Each payload calls ``__pwn(mark)`` with a mark naming where it was
put and which payload it is (``where:id``), so a test that fails says which one ran."""

from __future__ import annotations

import base64
import json
import struct
import zlib
from pathlib import Path

from grader.gradebook import Gradebook, answer_sha
from grader.results import PENDING, SubmissionResult, TestResult

PAYLOADS = json.loads((Path(__file__).resolve().parents[1] / "files" / "hostile-payloads.json").read_text())
EXERCISE = "01-hostile"
USEFUL_TABLE = ('<table class="useful-table"><thead><tr><th>engine</th><th>pid</th></tr></thead>'
                "<tbody><tr><td>0</td><td>4242</td></tr><tr><td>1</td><td>4243</td></tr></tbody></table>")


def fill(template: str, mark: str) -> str:
    return template.replace("MARK", mark)


def html_payloads(where: str) -> list[tuple[str, str]]:
    """(mark, html) for every HTML payload, marked as put in ``where``."""
    return [(f"{where}:{p['id']}", fill(p["html"], f"{where}:{p['id']}")) for p in PAYLOADS["html"]]


def markdown_payloads(where: str) -> list[tuple[str, str]]:
    return [(f"{where}:{p['id']}", fill(p["markdown"], f"{where}:{p['id']}")) for p in PAYLOADS["markdown"]]


def names(where: str) -> list[str]:
    """The hostile names (student folders, assignment and exercise names, test names), marked ``where-N``."""
    return [fill(name, f"{where}-{i}") for i, name in enumerate(PAYLOADS["names"])]


def png(width: int = 48, height: int = 32) -> str:
    """A real PNG (a colour gradient), base64 as a notebook stores it."""
    rows = b"".join(b"\x00" + bytes(v for x in range(width) for v in (4 * x % 256, 6 * y % 256, 128))
                    for y in range(height))

    def chunk(kind: bytes, data: bytes) -> bytes:
        return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data))

    data = (b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", struct.pack(">IIBBBBB", width, height, 8, 2, 0, 0, 0))
            + chunk(b"IDAT", zlib.compress(rows)) + chunk(b"IEND", b""))
    return base64.b64encode(data).decode()


def _cell(kind: str, source: str, n: int, **extra) -> dict:
    cell = {"id": f"cell-{n}", "cell_type": kind, "metadata": extra.pop("metadata", {}), "source": source}
    if kind == "code":
        cell.update(execution_count=extra.pop("execution_count", None), outputs=extra.pop("outputs", []))
    cell.update(extra)
    return cell


def _nbgrader(gid: str, **flags) -> dict:
    return {"nbgrader": {"schema_version": 3, "grade_id": gid, "solution": False, "grade": False, "locked": False,
                         "task": False, **flags}}


def hostile_outputs() -> list[dict]:
    """Outputs of every kind, each carrying payloads: HTML, markdown, JavaScript, SVG, images with hostile
    metadata, mermaid, widget views, LaTeX, errors, streams, and execution counts that are not numbers."""
    out: list[dict] = []

    def display(data: dict, metadata: dict | None = None, kind: str = "display_data", count=None) -> None:
        output = {"output_type": kind, "data": data, "metadata": metadata or {}}
        if kind == "execute_result":
            output["execution_count"] = count
        out.append(output)

    for _, html in html_payloads("html-output"):
        display({"text/html": html, "text/plain": "an HTML output"})
    for _, html in html_payloads("html-result"):
        display({"text/html": html, "text/plain": "an HTML result"}, kind="execute_result", count=1)
    for _, text in markdown_payloads("markdown-output") + html_payloads("markdown-output-html"):
        display({"text/markdown": text, "text/plain": "a markdown output"})
    display({"application/javascript": "__pwn('js-output:only')"})
    display({"application/javascript": "__pwn('js-output:with-text')", "text/plain": "JavaScript's text"})
    display({"application/javascript": "__pwn('js-output:with-html')", "text/html": "<b>JavaScript's HTML</b>"})
    svg = ("<svg xmlns='http://www.w3.org/2000/svg' width='40' height='20' onload=\"__pwn('svg-output:onload')\">"
           "<script>__pwn('svg-output:script')</script><rect width='40' height='20' fill='teal'/></svg>")
    display({"image/svg+xml": svg, "text/plain": "an SVG"})
    display({"image/png": png(), "text/plain": "a PNG with a hostile width"},
            {"image/png": {"width": "1 onerror=__pwn('png-output:width')", "height": "1 onload=__pwn('x')"}})
    display({"image/png": png(), "text/plain": "a PNG with hostile file names"},
            {"filenames": {"image/png": "x\" onerror=\"__pwn('png-output:filenames')"}})
    display({"image/png": "\" onerror=\"__pwn('png-output:data')", "text/plain": "a PNG that is not base64"})
    display({"image/jpeg": "x' onerror='__pwn(\"jpeg-output:data\")", "text/plain": "a JPEG that is not base64"})
    display({"text/vnd.mermaid": "graph TD\n</pre><img src=x onerror=\"__pwn('mermaid-output:pre')\">"})
    display({"application/vnd.jupyter.widget-view+json": {
        "model_id": "</script><script>__pwn('widget-output:model')</script>", "version_major": 2}})
    display({"text/latex": "$\\href{javascript:__pwn('latex-output:href')}{x}$ "
                           "<img src=x onerror=\"__pwn('latex-output:img')\">"})
    display({"application/pdf": "JVBERi0=", "text/x-unknown": "<script>__pwn('other-output:unknown')</script>"})
    out.append({"output_type": "stream", "name": "stdout",
                "text": "<script>__pwn('stream-output:stdout')</script>\n"
                        "<img src=x onerror=\"__pwn('stream-output:img')\">\n"})
    out.append({"output_type": "stream", "name": "<img src=x onerror=\"__pwn('stream-output:name')\">",
                "text": "a stream with a hostile name\n"})
    out.append({"output_type": "error", "ename": "<img src=x onerror=\"__pwn('error-output:ename')\">",
                "evalue": "[click](javascript:__pwn('error-output:evalue'))",
                "traceback": ["\x1b[31m<script>__pwn('error-output:traceback')</script>\x1b[0m",
                              "\x1b]8;;javascript:__pwn('error-output:osc8')\x1b\\an OSC 8 link\x1b]8;;\x1b\\"]})
    display({"text/html": "<b>a result with a hostile count</b>"}, kind="execute_result",
            count="<img src=x onerror=\"__pwn('result-count:img')\">")
    out.append({"output_type": "<img src=x onerror=\"__pwn('output-type:img')\">", "text": "?"})
    return out


def hostile_notebook(*, answer: str = "", lesson: bool = False) -> dict:
    """An executed notebook (as the gradebook stores it: nbformat JSON) whose every field a student controls
    carries payloads, and two useful outputs that must survive: a PNG and an HTML table.  ``lesson``: without
    the graded cells, and with a lesson's title and "What you'll learn" list."""
    cells = []
    first = "# A hostile notebook\n\nEvery payload below is shown as text, or not at all."
    if lesson:
        first = ("# <img src=x onerror=\"__pwn('lesson-title:img')\"> A hostile lesson\n\nWhat you'll learn\n"
                 "- <img src=x onerror=\"__pwn('learn-list:img')\"> images\n"
                 "- [a link](javascript:__pwn('learn-list:md-link'))\n- <script>__pwn('learn-list:script')</script>")
    cells.append(_cell("markdown", first, len(cells)))
    for _, html in html_payloads("markdown-cell"):
        cells.append(_cell("markdown", html, len(cells)))
    for _, text in markdown_payloads("markdown-cell"):
        cells.append(_cell("markdown", text, len(cells)))
    for _, html in html_payloads("raw-cell"):
        cells.append(_cell("raw", html, len(cells), metadata={"raw_mimetype": "text/html"}))
    cells.append(_cell("raw", "<script>__pwn('raw-cell:no-mimetype')</script>", len(cells)))
    attachment = base64.b64encode(b"<script>__pwn('attachment:html')</script>").decode()
    cells.append(_cell("markdown", "![an attachment](attachment:evil.html)", len(cells),
                       attachments={"evil.html": {"text/html": attachment}}))
    cells.append(_cell("code", "print('hello')", len(cells), execution_count=1, outputs=hostile_outputs()))
    cells.append(_cell("code", "tagged = True", len(cells),
                       execution_count="<img src=x onerror=\"__pwn('cell-count:img')\">",
                       metadata={"tags": ["\"><img src=x onerror=\"__pwn('cell-tag:img')\">"]}))
    cells[-1]["id"] = "x\"><img src=x onerror=\"__pwn('cell-id:img')\">"
    cells.append(_cell("code", "show()", len(cells), execution_count=3, outputs=[
        {"output_type": "display_data", "data": {"image/png": png(), "text/plain": "a figure"},
         "metadata": {"image/png": {"width": 96, "height": 64}}},
        {"output_type": "display_data", "data": {"text/html": USEFUL_TABLE, "text/plain": "a table"}, "metadata": {}},
    ]))
    if not lesson:
        cells.append(_cell("code", answer, len(cells), execution_count=4, metadata=_nbgrader("q1", solution=True)))
        cells.append(_cell("code", "assert answer() == 42", len(cells), execution_count=5,
                           metadata=_nbgrader("q1-test", grade=True, locked=True, points=2), outputs=[
                               {"output_type": "error", "ename": "AssertionError",
                                "evalue": "[click](javascript:__pwn('test-output:evalue'))",
                                "traceback": ["AssertionError: <img src=x onerror=\"__pwn('test-output:tb')\">"]}]))
        cells.append(_cell("markdown", "My answer: <img src=x onerror=\"__pwn('q2-answer:img')\">", len(cells),
                           metadata=_nbgrader("q2", solution=True, grade=True, points=2)))
    return {"nbformat": 4, "nbformat_minor": 5, "cells": cells,
            "metadata": {"title": "</title><script>__pwn('nb-title:script')</script>",
                         "kernelspec": {"name": "[k](javascript:__pwn('kernelspec:md'))", "display_name": "<b>k</b>",
                                        "language": "python"},
                         "language_info": {"name": "python"},
                         "widgets": {"application/vnd.jupyter.widget-state+json": {
                             "state": {}, "x": "</script><script>__pwn('widget-state:script')</script>"}}}}


# answers to q1: the first two students share one (so the report has a side-by-side page of hostile names)
ANSWERS = [
    "def answer():\n    note = \"<script>__pwn('answer-code:script')</script>\"\n    total = 0\n"
    "    for value in range(7):\n        total += value * 2\n    return total",
    "def answer():\n    return sum(v for v in [40, 2])  # <img src=x onerror=__pwn('answer-code:b')>",
    "def answer():\n    import math\n    return int(math.sqrt(1764))",
    "def answer():\n    x = 6\n    y = 7\n    return x * y",
]


def hostile_results() -> list[tuple[SubmissionResult, str | None, str]]:
    """(result, executed notebook JSON or None, q2's instructor comment or "") per hostile submission."""
    students = names("student-name")
    q2_answer = "My answer: <img src=x onerror=\"__pwn('q2-answer:img')\">"
    flags = [f"the notebook asked for kernel {repr(kernel)[:100]}; it was graded with python3"
             for kernel in ("[k](javascript:__pwn('flag-kernel:md'))", "<img src=x onerror=__pwn('flag-kernel:img')>")]
    rows = []
    for i, student in enumerate(students):
        answer = ANSWERS[0] if i < 2 else ANSWERS[(i - 1) % len(ANSWERS)]
        tests = [
            TestResult("q1-test", 0, 2, "failed",
                       "[click](javascript:__pwn('ename:md-link')): <img src=x onerror=__pwn('evalue:img')> "
                       "<javascript:__pwn('evalue:autolink')>"),
            TestResult(names("test-name")[i], 0, 1, "timeout",
                       "<details open ontoggle=__pwn('timeout-message:details')>the cell ran too long</details>"),
            TestResult("q2", 0, 2, PENDING, kind="manual", answer=q2_answer),
        ]
        r = SubmissionResult(student, EXERCISE, f"submissions/{student}/{EXERCISE}.ipynb", "e" * 64, tests=tests,
                             max_points=5, started="2026-01-10T10:00:00+00:00", finished="2026-01-10T10:00:05+00:00",
                             flags=flags, message="the kernel died: <iframe srcdoc=\"<script>parent.__pwn("
                                                  "'run-message:iframe')</script>\"></iframe>")
        comment = "<script>__pwn('comment:script')</script> see [here](javascript:__pwn('comment:md-link'))"
        rows.append((r, json.dumps(hostile_notebook(answer=answer)), comment))
    broken = SubmissionResult(students[0], names("exercise-name")[1], "p", "f" * 64, status="error",
                              assignment=names("assignment-name")[0],
                              message="not a notebook: <img src=x onerror=__pwn('error-message:img')> "
                                      "[click](javascript:__pwn('error-message:md-link'))")
    rows.append((broken, None, ""))
    return rows


def make_hostile_gradebook(path: Path) -> Path:
    """The hostile class recorded as grading records it, with an instructor's comment on each q2."""
    with Gradebook(path) as book:
        for r, executed, comment in hostile_results():
            book.record(r, executed_nb=executed)
            if comment:
                book.record_manual([{"student": r.student, "assignment": r.assignment, "exercise": r.exercise,
                                     "test": "q2", "points": 1.0, "comment": comment,
                                     "answer_sha": answer_sha(r.tests[2].answer), "graded_at": "2026-01-11"}])
    return path
