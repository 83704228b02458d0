# The course's ipyparallel profile for engines in a Slurm job: `course cluster start --launcher slurm` copies
# this file into $IPYTHONDIR/profile_NAME/ (unless that profile has an ipcluster_config.py of its own) and
# starts the cluster with it, so `ipcluster start --profile NAME` uses the same settings.
#
# The controller runs here (on the login node, where you type); the engines are one batch job of 4 tasks,
# `srun python -m ipyparallel.engine`, that Slurm places on whichever nodes it gives the job.
c = get_config()  # type: ignore[name-defined]  # noqa: F821 (defined by the config loader)

c.Cluster.engine_launcher_class = "slurm"
c.Cluster.n = 4
c.Cluster.delay = 0
c.Cluster.engine_timeout = 120  # the job may wait in the queue before its engines start

# Where the controller listens.  Loopback only works while the job runs on this same machine (a one-node
# Slurm, as in the course's tests).  On a real cluster the engines run on compute nodes, so listen on every
# interface and give the name by which the compute nodes reach this one:
#     c.Cluster.controller_ip = "*"
#     c.Cluster.controller_location = "login01.example.org"
c.Cluster.controller_ip = "127.0.0.1"

# Partition, account, time limit: set them here or with `course cluster start --launcher slurm` on a
# profile of your own (see the lesson 21 for what your site needs).
# c.SlurmLauncher.queue = "debug"
# c.SlurmLauncher.account = "my-project"
c.SlurmLauncher.timelimit = "2:00:00"

# The job script.  {n}, {cluster_id}, {output_file}, {program_and_args} are filled in by ipyparallel.
# --overcommit: the 4 engines may share fewer CPUs than 4 (they mostly wait for work); remove it to get one
# CPU per engine.  --export=ALL: the engines get this shell's environment, including the controller's
# connection info ($IPP_CONNECTION_INFO), so no connection file has to reach the compute nodes.
c.SlurmEngineSetLauncher.batch_template = """#!/bin/sh
#SBATCH --export=ALL
#SBATCH --job-name=ipengine-{cluster_id}
#SBATCH --ntasks={n}
#SBATCH --overcommit
#SBATCH --mem=2G
#SBATCH --time={timelimit}
#SBATCH --output={output_file}
srun {program_and_args}
"""
