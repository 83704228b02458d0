"""Near-identical answers in a class: the source of each solution cell, fingerprinted by winnowing (copydetect's
k-grams of the normalised token stream), and the pairs of answers to the same question that share most of their
fingerprints both ways.  ``grader report`` shows them side by side; the instructor decides what they mean."""

from __future__ import annotations

import io
import re
from collections import Counter, defaultdict
from dataclasses import dataclass

import nbformat

from .gradebook import Gradebook
from .results import SubmissionResult

K = 25  # copydetect's k-gram length (characters of the normalised token stream; its default noise threshold)
WINDOW = 1  # winnowing window (guarantee threshold - k + 1; 1 keeps every k-gram, as copydetect's defaults do)
THRESHOLD = 0.8  # both answers must share at least this much of their fingerprints with the other
MAX_ANSWER_CHARS = 50_000
STUB = "# YOUR CODE HERE\nraise NotImplementedError()"
_STUB_LEFT = re.compile(r"#\s*YOUR CODE HERE\s*\n\s*raise\s+NotImplementedError\(\)")
MD_STUB = "YOUR ANSWER HERE"
HIDDEN_MARKER = "### BEGIN HIDDEN TESTS"


@dataclass
class Answer:
    result: SubmissionResult
    question: str  # the solution cell's grade_id
    source: str
    cell_type: str  # code | markdown


@dataclass
class Pair:
    key: str
    question: str
    a: Answer
    b: Answer
    similarity: tuple[float, float]  # the share of a's fingerprints found in b, and of b's in a
    lines: tuple[list[int], list[int]]  # the matching lines of each answer (1-based)
    number: int = 0  # similar/<number>.html


def unanswered(source: str, cell_type: str = "code") -> bool:
    text = source.strip()
    if cell_type != "code":
        return not text or text == MD_STUB
    return not text or text == STUB or bool(_STUB_LEFT.search(source))


def answers(book: Gradebook, results: list[SubmissionResult]) -> dict[tuple[str, str], list[Answer]]:
    """(exercise key, grade_id) -> the students' answers: the source of the solution cells of each executed
    notebook, without answers left as released and without any cell holding hidden tests."""
    found: dict[tuple[str, str], list[Answer]] = defaultdict(list)
    for r in results:
        text = book.executed_notebook(r.student, r.exercise, r.assignment)
        if not text:
            continue
        try:
            nb = nbformat.reads(text, as_version=4)
        except Exception:
            continue
        seen = set()
        for cell in nb.cells:
            meta = cell.get("metadata", {}).get("nbgrader", {}) or {}
            gid = meta.get("grade_id")
            source = cell.get("source", "")
            if isinstance(source, list):
                source = "".join(source)
            if (not meta.get("solution") or not isinstance(gid, str) or gid in seen
                    or cell.get("cell_type") not in ("code", "markdown") or HIDDEN_MARKER in source
                    or unanswered(source, cell.get("cell_type"))):
                continue
            seen.add(gid)
            found[(r.key, gid)].append(Answer(r, gid, source[:MAX_ANSWER_CHARS], cell.get("cell_type")))
    return found


def _fingerprint(answer: Answer, k: int, window: int):
    from copydetect import CodeFingerprint

    if answer.cell_type == "code":
        return CodeFingerprint("answer.py", k, window, fp=io.StringIO(answer.source), language="python")
    prose = " ".join(re.findall(r"\w+", answer.source.lower()))  # prose: words only, case and layout dropped
    return CodeFingerprint("answer.txt", k, window, fp=io.StringIO(prose), filter=False)


def _lines(source: str, slices) -> list[int]:
    lines: set[int] = set()
    if len(slices) == 2:
        for start, end in zip(slices[0], slices[1]):
            first = source.count("\n", 0, int(start)) + 1
            last = source.count("\n", 0, max(int(start), int(end) - 1)) + 1
            lines.update(range(first, last + 1))
    return sorted(lines)


def similar_pairs(found: dict[tuple[str, str], list[Answer]], *, k: int = K, window: int = WINDOW,
                  threshold: float = THRESHOLD) -> list[Pair]:
    """Pairs of answers to the same question that share at least ``threshold`` of their fingerprints both
    ways, most similar first within each question."""
    import matplotlib

    matplotlib.use("Agg")  # copydetect imports pyplot
    from copydetect import compare_files
    from copydetect.utils import get_token_coverage

    pairs = []
    for (key, question), group in sorted(found.items()):
        prints = []
        for answer in group:
            fp = _fingerprint(answer, k, window)
            if len(fp.filtered_code) >= k and fp.hashes:
                prints.append((answer, fp))
        if len(prints) < 2:
            continue
        counts = Counter(h for _, fp in prints for h in fp.hashes)
        common = {h for h, n in counts.items() if n >= 3 and n > len(prints) / 2}
        usable = []
        for answer, fp in prints:
            if common:
                fp.hashes = fp.hashes - common
                fp.hash_idx = {h: i for h, i in fp.hash_idx.items() if h not in common}
                fp.token_coverage = get_token_coverage(fp.hash_idx, k, len(fp.filtered_code))
            if fp.hashes and fp.token_coverage:
                usable.append((answer, fp))
        mine = []
        for i, (a, fa) in enumerate(usable):
            for b, fb in usable[i + 1:]:
                if not fa.hashes & fb.hashes:
                    continue
                _, (sa, sb), (slices_a, slices_b) = compare_files(fa, fb)
                sa, sb = min(float(sa), 1.0), min(float(sb), 1.0)
                if min(sa, sb) >= threshold:
                    mine.append(Pair(key, question, a, b, (sa, sb), (_lines(a.source, slices_a),
                                                                     _lines(b.source, slices_b))))
        mine.sort(key=lambda p: (-min(p.similarity), p.a.result.student, p.b.result.student))
        pairs += mine
    for n, pair in enumerate(pairs, start=1):
        pair.number = n
    return pairs
