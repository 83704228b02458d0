"""Release: expand ``### AUTOTEST expr`` lines into assertions with the course's autotests.yml, as nbgrader does."""

import hashlib

import jinja2
from nbconvert.preprocessors import Preprocessor
from traitlets import Any, Dict, Unicode

from ..exercise import ExerciseError, grade_id, nbgrader

REQUIRED = ("dispatch", "normalize", "check", "templates")  # what autotests.yml must give for the kernel


class AutotestError(ExerciseError):
    """A directive that cannot be expanded as nbgrader would (the message names the cell and what to do)."""


def has_autotests(nb, delimiter: str = "AUTOTEST") -> bool:
    """Whether nbgrader would expand anything in ``nb``: a code cell mentions the delimiter."""
    return any(cell.cell_type == "code" and delimiter in cell.source for cell in nb.cells)


def python_text(text: str | None) -> str | None:
    """A Python kernel's text/plain result as nbgrader compares it: without the quotes of a string's repr."""
    return None if text is None else text.strip('"').strip("'")


class InstantiateAutotests(Preprocessor):
    """Each ``# AUTOTEST a; b`` line of a code cell (a comment line naming the delimiter) becomes, per expression,
    the assertions of its type's templates, with the values the source's own solution gives.

    The rules are nbgrader's ``InstantiateTests``, so that a course released here and one released by nbgrader
    hand students the same cells: every code cell of the source runs, in order, in one kernel (``evaluate``);
    a directive's expression picks its templates by the text ``dispatch`` shows (``default`` when none matches);
    each template is put through ``normalize`` (and ``hash`` with a salt for a ``HASHED`` line, the salt drawn
    from the cell's text and position, so the same source always gives the same cell); its value in the kernel
    fills ``check``.  ``setup`` comes before the first assertion of a cell and ``success`` ends a test cell.
    A directive in a cell that is not graded, a ``HASHED`` line without a ``hash`` template, an autotests.yml
    without what it needs and code of the source that fails are refused (:class:`AutotestError`): a test cell
    left as its comments would give every student full marks.
    """

    templates = Dict(help="The kernel's section of autotests.yml: dispatch, normalize, check and templates (with "
                     "a 'default' entry), optionally setup, hash and success.")
    evaluate = Any(None, allow_none=True, help="Runs code in the kernel the source's cells run in, in order: "
                   "returns the text/plain of the last result it showed (None when none), or raises "
                   "AutotestError with the kernel's error.")
    delimiter = Unicode("AUTOTEST", help="What marks a directive line.").tag(config=True)
    hashed = Unicode("HASHED", help="Before the delimiter: compare hashes of the values, not the values.").tag(
        config=True)
    comment = Unicode("#", help="How a comment line of the kernel's language begins.").tag(config=True)

    def preprocess(self, nb, resources):
        if not has_autotests(nb, self.delimiter):
            return nb, resources
        missing = [key for key in REQUIRED if key not in self.templates]
        if missing or not isinstance(self.templates.get("templates"), dict) or \
                "default" not in self.templates["templates"]:
            missing += [] if missing else ["templates: default"]
            raise AutotestError(f"autotests.yml lacks {', '.join(missing)} for this kernel; add them (nbgrader's "
                                "documentation has a complete autotests.yml)")
        self._jinja = jinja2.Environment()
        return super().preprocess(nb, resources)

    def preprocess_cell(self, cell, resources, index):
        if cell.cell_type != "code" or not cell.source:
            return cell, resources
        where = f"cell {grade_id(cell) or index!r}"
        graded = bool(nbgrader(cell).get("grade"))
        salt = int(hashlib.sha256((cell.source + str(index)).encode("utf-8")).hexdigest(), 16) % 10**6
        lines, pending, set_up = [], [], False
        setup, success = self.templates.get("setup"), self.templates.get("success")
        for line in cell.source.split("\n"):
            if self.delimiter not in line or not line.strip().startswith(self.comment):
                lines.append(line)
                pending.append(line)
                continue
            self._run("\n".join(pending), where)
            pending = []
            if not graded:
                raise AutotestError(f"{where}: an {self.delimiter} line in a cell that is not graded; make it an "
                                    "autograder test cell (graded, with points) or remove the line")
            if setup is not None and not set_up:
                lines.append(setup)
                set_up = True
                self._run(setup, where)
            at = line.find(self.delimiter)
            use_hash = self.hashed in line[:at]
            if use_hash and self.templates.get("hash") is None:
                raise AutotestError(f"{where}: a {self.hashed} {self.delimiter} line, but autotests.yml has no "
                                    "'hash' template for this kernel; add one or drop the word")
            snippets = [s.strip() for s in line[at + len(self.delimiter):].strip(";").split(";")]
            if "" in snippets:
                snippets.remove("")
            for snippet in snippets:
                if use_hash:
                    salt += 1
                for test, value, message in self._instantiate(snippet, hex(salt)[2:] if use_hash else None, where):
                    lines.append(self._render(self.templates["check"], snippet=test, value=value, message=message))
                lines.append("")
        if graded and self.delimiter in cell.source and success is not None:
            lines.append(success)
            pending.append(success)
        if pending:
            self._run("\n".join(pending), where)
        cell.source = "\n".join(lines)
        return cell, resources

    def _instantiate(self, snippet: str, salt: str | None, where: str) -> list[tuple[str, str | None, str]]:
        """(test code, its value, failure message) for each template of ``snippet``'s type."""
        kind = self._run(self._render(self.templates["dispatch"], snippet=snippet), where)
        by_type = self.templates["templates"]
        chosen = by_type.get(kind, by_type["default"])
        try:
            pairs = [(t["test"], t["fail"]) for t in chosen]
        except (KeyError, TypeError):
            raise AutotestError(f"{where}: autotests.yml's templates for {kind or 'default'!r} must be a list of "
                                "entries each with 'test' and 'fail'") from None
        out = []
        for test, fail in pairs:
            message = self._render(fail, snippet=snippet).replace('"', '\\"')
            code = self._render(self.templates["normalize"], snippet=test)
            if salt is not None:
                code = self._render(self.templates["hash"], snippet=code, salt=salt)
            code = self._render(code, snippet=snippet)
            out.append((code, self._run(code, where), message))
        return out

    def _render(self, template: str, **values) -> str:
        return self._jinja.from_string(str(template)).render(**values)

    def _run(self, code: str, where: str) -> str | None:
        try:
            return python_text(self.evaluate(code))
        except AutotestError as e:
            raise AutotestError(f"{where}: the source's code failed while its tests were made ({e}); fix the "
                                "source so that its cells run") from None
