"""What the project's own programs do before they import the Jupyter stack.

jsonschema (which nbformat, nbconvert, nbclient, nbgrader and Jupyter Server import) loads every format checker
whose library is installed, and ``jsonschema[format-nongpl]`` (which jupyter-events asks for) installs
``rfc3987-syntax``: on import it builds some thirty Earley parsers with lark, close to a second of CPU on these
machines, in every process that imports nbformat (``python -X importtime -c "import nbformat"`` shows it; upstream:
python-jsonschema/jsonschema#1428, #1392).  It checks only the ``iri`` and ``iri-reference`` formats, which no
notebook, nbgrader or Jupyter schema uses.  :func:`skip_slow_format_checkers` makes that import fail, so jsonschema
skips the checker, in the process that calls it: ``grader`` and ``course`` call it first thing, and so does the test
suite (tests/conftest.py).  It does nothing to anyone else's process, and nothing once jsonschema is imported."""

from __future__ import annotations

import sys

SLOW_FORMAT_CHECKERS = ("rfc3987_syntax",)  # jsonschema skips a checker whose import fails (None in sys.modules)


def skip_slow_format_checkers() -> None:
    """Before jsonschema is first imported: let it skip the format checkers of :data:`SLOW_FORMAT_CHECKERS`."""
    for name in SLOW_FORMAT_CHECKERS:
        sys.modules.setdefault(name, None)  # type: ignore[arg-type]
