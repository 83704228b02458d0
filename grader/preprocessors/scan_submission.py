"""Grade: flag the submitted cells that use what can make a test pass without running it (a static scan)."""

from nbconvert.preprocessors import Preprocessor

from ..scan import scan_cells
from ..state import state_of


class ScanSubmission(Preprocessor):
    """Append a flag to the grading state's ``flags`` for each construct of :func:`grader.scan.scan_cells`
    in the submission's own cells: the kernel's ``do_execute`` or ``shell_handlers``, trace and profile
    functions, frames, the garbage collector's object graph, ``ctypes``, the grader's guard, assignments to
    ``get_ipython()``'s attributes.  Flags, not zeros: the instructor decides.

    Run it after ``RestoreTests`` (locked and test cells are then the source's, and are not scanned), before
    or after ``ExecuteSubmission``; the notebook is not changed.
    """

    def preprocess(self, nb, resources):
        flags = state_of(resources).flags
        flags.extend(f for f in scan_cells(nb) if f not in flags)
        return nb, resources
