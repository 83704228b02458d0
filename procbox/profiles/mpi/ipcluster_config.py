# The course's ipyparallel profile for MPI engines: `course cluster start --launcher mpi` copies this file into
# $IPYTHONDIR/profile_NAME/ (unless that profile has an ipcluster_config.py of its own) and starts the cluster
# with it, so `ipcluster start --profile NAME` uses the same settings.
#
# A controller runs here; the engines are one `mpiexec -n 4 python -m ipyparallel.engine --mpi` job, so they
# are MPI ranks 0..3 of one MPI_COMM_WORLD, and each engine asks the controller for its rank as its engine id.
import os
import sys

c = get_config()  # type: ignore[name-defined]  # noqa: F821 (defined by the config loader)

c.Cluster.engine_launcher_class = "mpi"
c.Cluster.n = 4
c.Cluster.delay = 0  # the engines wait for the controller's connection info anyway

# Where the controller listens.  On one machine loopback is enough.  With engines on other nodes, listen on
# every interface and tell engines and clients which name reaches this machine:
#     c.Cluster.controller_ip = "*"
#     c.Cluster.controller_location = "login01.example.org"   # or this node's address on the cluster network
c.Cluster.controller_ip = "127.0.0.1"

# mpiexec from the same environment as mpi4py (the `mpich` wheel puts it in the venv's bin/), not whatever
# MPI happens to be first on PATH: mpi4py only works under the MPI it was built against.
_mpiexec = os.path.join(os.path.dirname(sys.executable), "mpiexec")
c.MPILauncher.mpi_cmd = [_mpiexec if os.access(_mpiexec, os.X_OK) else "mpiexec"]
# On several nodes, name them for Hydra (MPICH's mpiexec):  c.MPILauncher.mpi_args = ["-hosts", "node1,node2"]
# With Open MPI's mpirun instead, pass the controller's connection info to ranks on other nodes explicitly
# (Hydra passes the whole environment, Open MPI only what -x names):
#     c.MPILauncher.mpi_cmd = ["mpirun"]
#     c.MPILauncher.mpi_args = ["-x", "IPP_CONNECTION_INFO", "--hostfile", "hosts.txt"]
c.MPILauncher.mpi_args = []
c.MPILauncher.stop_seconds_until_kill = 3  # SIGTERM to mpiexec (it passes it on to every rank), then SIGKILL
