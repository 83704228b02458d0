"""Going parallel with ipyparallel: the course's helpers for students."""

from .check import check
from .data import mirror_url

__all__ = ["check", "mirror_url"]
