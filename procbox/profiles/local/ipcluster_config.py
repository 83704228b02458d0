# The course's ipyparallel profile for engines on this machine: `course cluster start` copies this file into
# $IPYTHONDIR/profile_NAME/ (unless that profile has an ipcluster_config.py of its own), and so does JupyterLab
# when it starts (the course's server extension, course/jupyter.py, for profile_default), so every way of
# starting the course cluster reads the same settings: `course cluster start`, `ipcluster start`, and START on
# the `default` entry of JupyterLab's IPython Parallel panel.  All three write the cluster file
# security/cluster-.json, so the panel lists the cluster as running and can stop it, and `course cluster
# status` / `stop` see a cluster the panel started.
c = get_config()  # type: ignore[name-defined]  # noqa: F821 (defined by the config loader)

c.Cluster.engine_launcher_class = "local"
c.Cluster.n = 4  # what the lessons and exercises wait for; ipyparallel's default is one engine per core
c.Cluster.delay = 0  # the engines wait for the controller's connection file anyway
c.Cluster.controller_ip = "127.0.0.1"  # nothing outside this machine needs to reach it
# A heartbeat every 500 ms instead of 3 s (an engine counts as dead after 10 missed, 5 s of silence): the
# engines register within a second or two instead of several, and an idle cluster costs a laptop little
# (benchmarks/cluster_idle.py measures both against the period).
c.Cluster.controller_args = ["--HeartMonitor.period=500", "--HeartMonitor.max_heartmonitor_misses=10"]
# The engines run with ipyparallel's default nanny (IPEngine.enable_nanny): a small process beside each
# engine that relays signals, so that Ctrl-C during a blocking %px interrupts the engines, and
# rc.send_signal(signal.SIGINT, targets=[0]) reaches one engine.
c.LocalEngineSetLauncher.delay = 0
