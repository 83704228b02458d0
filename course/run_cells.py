"""A notebook run top to bottom with nbclient, as ``NotebookClient.execute`` runs it, but saying which cell stopped
the run: what the demo's lessons (:func:`grader.lessons.execute_notebook`) and the pytest plugin
(:mod:`course.pytest_ipp`) both need."""

from __future__ import annotations

from nbclient import NotebookClient
from nbclient.exceptions import CellExecutionError, CellTimeoutError, DeadKernelError


class CellRunError(Exception):
    """Cell ``index`` stopped the run; ``cause`` is nbclient's CellExecutionError (the cell failed and is not tagged
    ``raises-exception``), CellTimeoutError or DeadKernelError (the kernel died while it ran)."""

    def __init__(self, index: int, source: str, cause: Exception):
        super().__init__(f"cell {index}: {type(cause).__name__}: {cause}")
        self.index, self.source, self.cause = index, source, cause

    @property
    def traceback(self) -> str:
        """The cell's traceback as the kernel printed it (nbclient's message where there is none)."""
        return getattr(self.cause, "traceback", None) or str(self.cause)


def run_cells(client: NotebookClient, **kernel_kwargs) -> None:
    """Start ``client``'s kernel (``kernel_kwargs`` go to its start, e.g. ``env``), run every cell of ``client.nb`` in
    order, record the kernel's language and the widgets' state as ``execute`` does, and stop the kernel.
    CellRunError on the first cell that stops the run."""
    with client.setup_kernel(**kernel_kwargs):
        assert client.kc is not None  # setup_kernel started it
        info = client.wait_for_reply(client.kc.kernel_info())
        if info is not None:
            client.nb.metadata["language_info"] = info["content"]["language_info"]
        for index, cell in enumerate(client.nb.cells):
            try:
                client.execute_cell(cell, index, execution_count=client.code_cells_executed + 1)
            except (CellExecutionError, CellTimeoutError, DeadKernelError) as e:
                raise CellRunError(index, cell.source, e) from e
        client.set_widgets_metadata()
