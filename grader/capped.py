"""The executed notebook written within a size: what the gradebook stores and feedback renders
(:func:`write_capped`), whatever a submission printed."""

from __future__ import annotations

import json

import nbformat

MAX_EXECUTED_BYTES = 5 * 1024 * 1024  # the executed notebook stored in the gradebook and rendered to feedback
REMOVED = "[removed: "  # how a note that replaces an output or a cell's source begins


def write_capped(nb, max_bytes: int = MAX_EXECUTED_BYTES) -> str:
    """``nbformat.writes(nb)`` in at most ``max_bytes`` (UTF-8); never raises.

    If the notebook is larger, its largest outputs are replaced, largest first, by a note saying what was
    removed and why; if that is not enough, the widget state, then the largest cells' sources; failing all
    that (or if the notebook cannot even be written), a notebook with one cell saying so.  ``nb`` is changed.
    """
    size = 0
    try:
        text = nbformat.writes(nb)
        size = original = len(text.encode())
        for stage in (_outputs, _widgets, _sources):
            while size > max_bytes:
                items = sorted(stage(nb, original, max_bytes), key=lambda item: -item[0])
                if not items:
                    break
                excess, saved = size - max_bytes, 0
                for n, drop in items:
                    if saved > excess:
                        break
                    saved += n - drop()
                text = nbformat.writes(nb)
                size = len(text.encode())
            if size <= max_bytes:
                return text
    except Exception:  # what cannot be written is replaced, below
        pass
    from nbformat.v4 import new_markdown_cell, new_notebook

    return nbformat.writes(new_notebook(cells=[new_markdown_cell(
        f"{REMOVED}the executed notebook ({size or 'an unknown number of'} bytes) could not be cut down to the "
        f"{max_bytes}-byte limit, so it is not kept]")]))


def _removed(what: str, n: int, original: int, max_bytes: int) -> str:
    return (f"{REMOVED}{what} of {n} bytes; the executed notebook was {original} bytes, more than the "
            f"{max_bytes}-byte limit]\n")


def _json_size(value) -> int:
    return len(json.dumps(value, default=str).encode())


def _outputs(nb, original: int, max_bytes: int):
    from nbformat.v4 import new_output

    def drop(outputs, i, n):
        outputs[i] = new_output("stream", name="stderr", text=_removed("an output", n, original, max_bytes))
        return _json_size(outputs[i])

    for cell in nb.cells:
        outputs = cell.get("outputs") or []
        for i, out in enumerate(outputs):
            if not (out.get("output_type") == "stream" and str(out.get("text", "")).startswith(REMOVED)):
                n = _json_size(out)
                yield n, lambda outputs=outputs, i=i, n=n: drop(outputs, i, n)


def _widgets(nb, original: int, max_bytes: int):
    if "widgets" in nb.metadata:
        def drop():
            del nb.metadata["widgets"]
            return 0
        yield _json_size(nb.metadata["widgets"]), drop


def _sources(nb, original: int, max_bytes: int):
    for cell in nb.cells:
        if not str(cell.get("source", "")).startswith(REMOVED) or cell.get("attachments"):
            n = _json_size(cell.get("source", "")) + _json_size(cell.get("attachments", {}))

            def drop(cell=cell, n=n):
                cell.pop("attachments", None)
                cell.source = _removed("this cell's source", n, original, max_bytes)
                return _json_size(cell.source)

            yield n, drop
