"""Pages of notebooks: a notebook's outputs and fields reduced to data that nbconvert's template shows as data."""

from __future__ import annotations

import re

import nbformat
from nbconvert.preprocessors import Preprocessor
from traitlets import List, Unicode

TEXT_TYPES = ("text/plain", "text/html", "text/markdown", "text/latex", "image/svg+xml")
BASE64_TYPES = ("image/png", "image/jpeg")
BASE64 = re.compile(r"[A-Za-z0-9+/=\s]*")
OUTPUT_TYPES = ("stream", "display_data", "execute_result", "error")
STREAMS = ("stdout", "stderr")
CELL_ID = re.compile(r"[a-zA-Z0-9_-]{1,64}")  # nbformat 4.5's
ATTACHMENT = re.compile(r"(?<![\w-])attachment:([^\s)>\]\"']*)")  # a reference to a cell's attachment
ATTACHMENT_NAME = re.compile(r"[A-Za-z0-9._-]+")  # names read the same however markdown decodes them


class SafeNotebook(Preprocessor):
    """First in every page's pipeline (``course.site.offline_exporter`` puts it there): what nbconvert's template
    would put in a page unescaped or run is dropped or made plain, and what a kernel's forged message made
    invalid is made valid.

    Outputs keep only the MIME types in ``mimetypes`` (no ``application/javascript``, no widget view, no
    mermaid source, which nbconvert writes unescaped: it becomes text), text as text and images as base64;
    an output's metadata keeps only numeric width and height (nbconvert writes them unquoted) and the two image
    flags; execution counts are numbers or nothing; cells are code, markdown or raw, their ids valid, their tags
    text and their attachments images; the notebook's widget state and a title that is not text go.  The
    markdown and HTML themselves are sanitised when the page is rendered (course.safe_html.sanitize_html)."""

    mimetypes = List(Unicode(), default_value=[*TEXT_TYPES, *BASE64_TYPES],
                     help="Output MIME types kept; nbconvert shows the first of an output's types in its "
                          "display priority, so a type left out here is never chosen over text.").tag(config=True)
    attachment_types = List(Unicode(), default_value=["image/png", "image/jpeg", "image/gif"],
                            help="Types of a markdown cell's attachments kept (as base64 images); a reference "
                                 "to an attachment left with none is shown as a missing image.").tag(config=True)

    def preprocess(self, nb, resources):
        nb.metadata.pop("widgets", None)
        if not isinstance(nb.metadata.get("title", ""), str):
            del nb.metadata["title"]
        nb.cells = [cell for cell in nb.cells if cell.get("cell_type") in ("code", "markdown", "raw")]
        used = {c.id for c in nb.cells if isinstance(c.get("id"), str) and CELL_ID.fullmatch(c.id)}
        for index, cell in enumerate(nb.cells):
            if "id" in cell and not (isinstance(cell.id, str) and CELL_ID.fullmatch(cell.id)):
                cell.id = next(f"cell-{index}-{n}" for n in range(len(nb.cells) + 1) if f"cell-{index}-{n}" not in used)
                used.add(cell.id)
        return super().preprocess(nb, resources)

    def preprocess_cell(self, cell, resources, index):
        cell.source = _text(cell.get("source", ""))
        tags = cell.metadata.get("tags")
        if tags is not None and not (isinstance(tags, list) and all(isinstance(t, str) for t in tags)):
            del cell.metadata["tags"]
        if "attachments" in cell:
            kept = {name: {t: v for t, v in bundle.items() if t in self.attachment_types and _base64(v)}
                    for name, bundle in (cell.attachments or {}).items() if isinstance(bundle, dict)}
            cell.attachments = {name: bundle for name, bundle in kept.items() if bundle}
        if cell.cell_type != "code":  # nbconvert raises on an image of a missing attachment: it shows as none
            attachments = cell.get("attachments") or {}
            cell.source = ATTACHMENT.sub(
                lambda m: m[0] if ATTACHMENT_NAME.fullmatch(m[1]) and m[1] in attachments else f"missing-{m[0]}",
                cell.source)
        if cell.cell_type == "code":
            cell.execution_count = _count(cell.get("execution_count"))
            outputs = cell.get("outputs") if isinstance(cell.get("outputs"), list) else []
            cell.outputs = [out for out in map(self.output, outputs) if out is not None]
        return cell, resources

    def output(self, output) -> nbformat.NotebookNode | None:
        """The output as the page may show it, or None to leave it out."""
        kind = output.get("output_type") if isinstance(output, dict) else None
        if kind not in OUTPUT_TYPES:
            return None
        if kind == "stream":
            name = output.get("name") if output.get("name") in STREAMS else "stdout"
            return nbformat.from_dict({"output_type": kind, "name": name, "text": _text(output.get("text", ""))})
        if kind == "error":
            traceback = output.get("traceback", [])
            lines = [_text(line) for line in traceback] if isinstance(traceback, list) else [_text(traceback)]
            return nbformat.from_dict({"output_type": kind, "ename": _text(output.get("ename", "")),
                                       "evalue": _text(output.get("evalue", "")), "traceback": lines})
        data = output.get("data") if isinstance(output.get("data"), dict) else {}
        kept = {}
        for mimetype in self.mimetypes:
            value = data.get(mimetype)
            if isinstance(value, list) and all(isinstance(v, str) for v in value):
                value = "".join(value)
            if isinstance(value, str) and (mimetype not in BASE64_TYPES or _base64(value)):
                kept[mimetype] = value
        if "text/plain" not in kept and isinstance(data.get("text/vnd.mermaid"), str):
            kept["text/plain"] = data["text/vnd.mermaid"]  # its source, as text
        if not kept:
            return None
        safe = {"output_type": kind, "data": kept, "metadata": _image_metadata(output.get("metadata"))}
        if kind == "execute_result":
            safe["execution_count"] = _count(output.get("execution_count"))
        return nbformat.from_dict(safe)


def _text(value) -> str:
    if isinstance(value, list):
        return "".join(v if isinstance(v, str) else str(v) for v in value)
    return value if isinstance(value, str) else str(value)


def _count(value) -> int | None:
    return value if type(value) is int and value >= 0 else None


def _base64(value) -> bool:
    return isinstance(value, str) and BASE64.fullmatch(value) is not None


def _image_metadata(metadata) -> dict:
    """What nbconvert's template reads of an output's metadata, per image type and at top level: width and
    height as positive numbers, ``unconfined`` as a bool, ``needs_background`` as light or dark."""
    def keep(md) -> dict:
        if not isinstance(md, dict):
            return {}
        kept = {k: md[k] for k in ("width", "height")
                if type(md.get(k)) in (int, float) and 0 < md[k] < 100_000}
        if isinstance(md.get("unconfined"), bool):
            kept["unconfined"] = md["unconfined"]
        if md.get("needs_background") in ("light", "dark"):
            kept["needs_background"] = md["needs_background"]
        return kept

    if not isinstance(metadata, dict):
        return {}
    safe = keep(metadata)
    safe.update({t: keep(metadata[t]) for t in BASE64_TYPES if keep(metadata.get(t))})
    return safe
