"""What a launcher needs that may be missing, said as the set-up step to take (None when all is there)."""

from __future__ import annotations

import importlib.util
import os
import shutil
import subprocess
import sys
from pathlib import Path

VENV_BIN = Path(sys.executable).parent


def mpiexec() -> str | None:
    """The mpiexec next to this Python (the `mpich` wheel's), else the first on PATH."""
    here = VENV_BIN / "mpiexec"
    return str(here) if os.access(here, os.X_OK) else shutil.which("mpiexec")


def mpi_problem() -> str | None:
    missing = [name for name in ("mpi4py", "mpich") if importlib.util.find_spec(name) is None]
    if importlib.util.find_spec("mpich") is None and mpiexec() is not None:
        missing.remove("mpich")  # another MPI (a system one) with its own mpiexec will do
    if missing or mpiexec() is None:
        return (f"MPI is not installed in {sys.prefix}: {', '.join(missing) or 'mpiexec'} missing. "
                f"Install it with: {sys.executable} -m pip install 'mpich>=4.1' 'mpi4py>=4.0'")
    return None


def slurm_problem() -> str | None:
    missing = [name for name in ("sbatch", "squeue", "scancel", "sinfo", "srun") if shutil.which(name) is None]
    if missing:
        return (f"Slurm's commands are missing ({', '.join(missing)}): this machine is no Slurm login node. "
                "Install Debian's slurm-wlm (apt-get install slurm-wlm munge) and set SLURM_CONF, or run this on "
                "your cluster's login node")
    try:
        out = subprocess.run(["sinfo", "-h", "-o", "%P %a"], capture_output=True, text=True, timeout=20)
    except subprocess.TimeoutExpired:
        return "sinfo did not answer in 20 s: is slurmctld running and SLURM_CONF set?"
    if out.returncode != 0:
        return f"sinfo failed ({(out.stderr or out.stdout).strip()[:300]}): is slurmctld running and SLURM_CONF set?"
    return None
