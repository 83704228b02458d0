"""``### AUTOTEST`` directives of the sources, expanded before release and grading as nbgrader's release does it.

nbgrader expands them while it releases an assignment: it runs the source notebook (the instructor's solution)
in a kernel started in the notebook's folder and asks that kernel for the value of each directive's expression
(:class:`grader.preprocessors.instantiate_autotests.InstantiateAutotests` has the rules).  Here the same happens
whenever ``grader release`` or ``grader grade`` loads a source that has directives: the expanded source is what
is released and what the tests are restored from, so students get the same cells from either release, an
untouched submission shows no change, and the tests score as nbgrader scores them.

The templates come from ``autotests.yml`` beside the notebook, else from the course's folder (nbgrader reads the
one in the folder it runs in, the course's).  The source is the instructor's code, and it runs as nbgrader runs
it: as the grader's user, outside the sandbox, in the notebook's folder.
"""

from __future__ import annotations

import copy
import dataclasses
import queue
import subprocess
from pathlib import Path
from typing import TYPE_CHECKING

from .exercise import Exercise, ExerciseError, grade_id
from .preprocessors.instantiate_autotests import AutotestError, InstantiateAutotests, has_autotests

if TYPE_CHECKING:  # at run time jupyter_client is imported only when a kernel starts (__enter__)
    from jupyter_client import BlockingKernelClient, KernelManager

FILENAME = "autotests.yml"
PYTHON_KERNELS = ("python", "python3")  # the kernels nbgrader's autotests know a comment and a sanitizer for
RUN_TIMEOUT = 120  # seconds one piece of the source's code may take while its tests are made
START_TIMEOUT = 60  # seconds for the kernel to answer


class KernelEvaluator:
    """A Python kernel in ``cwd`` that runs code and gives back the text/plain of the last result it showed
    (the ``evaluate`` of :class:`InstantiateAutotests`); a context manager that stops the kernel."""

    def __init__(self, cwd: Path, timeout: float = RUN_TIMEOUT):
        self.cwd, self.timeout = Path(cwd), timeout
        self.km: KernelManager | None = None
        self.kc: BlockingKernelClient | None = None

    def __enter__(self) -> KernelEvaluator:
        from jupyter_client import KernelManager

        self.km = km = KernelManager(kernel_name="python3")
        try:
            km.start_kernel(cwd=str(self.cwd), stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
            self.kc = kc = km.blocking_client()
            kc.start_channels()
            kc.wait_for_ready(timeout=START_TIMEOUT)
        except BaseException as e:
            self.__exit__()
            if isinstance(e, Exception):
                raise ExerciseError(f"{self.cwd}: a Python kernel to expand the ### AUTOTEST directives did not "
                                    f"start ({type(e).__name__}: {e})") from None
            raise
        return self

    def __exit__(self, *exc) -> None:
        if self.kc is not None:
            self.kc.stop_channels()
            self.kc = None
        if self.km is not None:
            if self.km.has_kernel:
                self.km.shutdown_kernel(now=True)
            self.km = None

    def __call__(self, code: str) -> str | None:
        shown: dict = {"text": None, "error": None}

        def hook(msg):
            kind, content = msg["header"]["msg_type"], msg["content"]
            if kind in ("display_data", "update_display_data", "execute_result"):
                shown["text"] = content.get("data", {}).get("text/plain")
            elif kind == "error":
                shown["error"] = f"{content.get('ename')}: {content.get('evalue')}"

        if self.kc is None:
            raise RuntimeError("KernelEvaluator runs code only inside its with statement (no kernel started)")
        try:
            reply = self.kc.execute_interactive(code, timeout=self.timeout, output_hook=hook, allow_stdin=False)
        except (TimeoutError, queue.Empty):
            raise AutotestError(f"{code[:80]!r} did not finish in {self.timeout:g} s") from None
        if reply["content"].get("status") != "ok":
            raise AutotestError(shown["error"] or f"{code[:80]!r} ended with status {reply['content'].get('status')}")
        return shown["text"]


def templates_for(folder: Path, course: Path | None, kernel: str, where: str) -> dict:
    """The ``kernel`` section of the autotests.yml beside the notebook (``folder``) or else in ``course``."""
    import yaml

    places = [folder / FILENAME] + ([course / FILENAME] if course is not None else [])
    path = next((p for p in places if p.is_file()), None)
    if path is None:
        raise AutotestError(f"{where} needs {FILENAME} with the test templates, in {folder} or "
                            f"{course if course is not None else 'the same folder'}; there is none (start from "
                            "the one in nbgrader's documentation)")
    try:
        data = yaml.safe_load(path.read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError, yaml.YAMLError) as e:
        raise AutotestError(f"{path}: cannot be read as YAML ({str(e).splitlines()[0] if str(e) else e!r}); fix "
                            f"it for {where}") from None
    section = data.get(kernel) if isinstance(data, dict) else None
    if not isinstance(section, dict):
        raise AutotestError(f"{path}: no section for kernel {kernel!r} (the notebook's kernel), which {where} "
                            "needs; add one")
    return section


def instantiate(exercises: dict[str, Exercise], course: Path | None = None) -> dict[str, Exercise]:
    """``exercises`` with every ``### AUTOTEST`` directive expanded (the others as they are); ExerciseError
    naming the notebook and the cell when one cannot be expanded as nbgrader would."""
    out = {}
    for key, ex in exercises.items():
        if not has_autotests(ex.nb):
            out[key] = ex
            continue
        first = next(c for c in ex.nb.cells if c.cell_type == "code" and "AUTOTEST" in c.source)
        where = f"the ### AUTOTEST directives of cell {grade_id(first) or ex.nb.cells.index(first)!r}"
        kernel = (ex.nb.metadata.get("kernelspec") or {}).get("name", "")
        if kernel not in PYTHON_KERNELS:
            raise AutotestError(f"{ex.path}: {where} are for kernel {kernel!r}; this grader expands them for Python "
                                f"notebooks only (kernel {' or '.join(PYTHON_KERNELS)}), so it refuses the source "
                                "rather than give full marks for tests that never run")
        try:
            templates = templates_for(ex.path.parent, course, kernel, where)
            with KernelEvaluator(ex.path.parent) as evaluate:
                nb, _ = InstantiateAutotests(templates=templates, evaluate=evaluate).preprocess(
                    copy.deepcopy(ex.nb), {"metadata": {"path": str(ex.path.parent)}})
        except AutotestError as e:
            raise AutotestError(f"{ex.path}: {e}") from None
        out[key] = dataclasses.replace(ex, nb=nb)
    return out
