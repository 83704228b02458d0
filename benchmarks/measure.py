"""What the benchmarks read off the machine: busy CPU seconds and the load averages."""

from __future__ import annotations

import os
from pathlib import Path


def machine_cpu() -> float:
    """Busy CPU seconds of the whole machine so far, all CPUs (/proc/stat): whatever else runs on it counts too."""
    fields = [int(x) for x in Path("/proc/stat").read_text().split("\n", 1)[0].split()[1:8]]
    return (sum(fields) - fields[3] - fields[4]) / os.sysconf("SC_CLK_TCK")


def load() -> str:
    """The load averages over 1, 5 and 15 minutes."""
    return " ".join(f"{x:.2f}" for x in os.getloadavg())
