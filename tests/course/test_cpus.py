"""course.cpus counts the CPUs a process may use on Linux (affinity, cgroup v1 and v2 quotas, in a container or not),
macOS and Windows (no sched_getaffinity), against made-up cgroup files."""

import math
import os
from pathlib import Path

import pytest

from course import cpus


def make(root: Path, files: dict[str, str]) -> Path:
    for name, text in files.items():
        path = root / name
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(text)
    return root


@pytest.fixture
def fake(tmp_path, monkeypatch):
    """A made-up /sys/fs/cgroup and /proc/self/cgroup; the process's affinity reads 8 CPUs."""
    monkeypatch.setattr(os, "sched_getaffinity", lambda pid: set(range(8)), raising=False)

    def build(proc: str, files: dict[str, str]):
        make(tmp_path / "sys", files)
        (tmp_path / "proc").write_text(proc)
        return tmp_path / "sys", tmp_path / "proc"
    return build


def test_cgroup_v2_quota_caps_the_affinity(fake):
    root, proc = fake("0::/\n", {"cpu.max": "200000 100000\n"})
    assert cpus.cgroup_cpu_quota(root, proc) == 2.0
    assert cpus.usable_cpus(root, proc) == 2


def test_cgroup_v2_no_quota(fake):
    root, proc = fake("0::/\n", {"cpu.max": "max 100000\n"})
    assert cpus.cgroup_cpu_quota(root, proc) is None
    assert cpus.usable_cpus(root, proc) == 8


def test_cgroup_v2_fractional_quota_rounds_up_and_never_below_one(fake):
    root, proc = fake("0::/\n", {"cpu.max": "150000 100000"})
    assert cpus.usable_cpus(root, proc) == 2
    root, proc = fake("0::/\n", {"cpu.max": "10000 100000"})
    assert cpus.cgroup_cpu_quota(root, proc) == pytest.approx(0.1)
    assert cpus.usable_cpus(root, proc) == 1


def test_cgroup_v2_a_parent_group_quota_counts(fake):
    root, proc = fake("0::/kubepods/pod1/ctr\n", {
        "kubepods/cpu.max": "300000 100000", "kubepods/pod1/cpu.max": "max 100000",
        "kubepods/pod1/ctr/cpu.max": "max 100000"})
    assert cpus.usable_cpus(root, proc) == 3


def test_cgroup_v2_host_path_inside_a_container_reaches_the_mount_root(fake):
    # cgroup namespace not private: /proc/self/cgroup names the host's group, the mount shows the container's
    root, proc = fake("0::/system.slice/docker-abc.scope\n", {"cpu.max": "100000 100000"})
    assert cpus.usable_cpus(root, proc) == 1


def test_cgroup_v1_quota(fake):
    root, proc = fake("4:memory:/x\n3:cpu,cpuacct:/docker/abc\n0::/\n", {
        "cpu,cpuacct/docker/abc/cpu.cfs_quota_us": "250000", "cpu,cpuacct/docker/abc/cpu.cfs_period_us": "100000"})
    assert cpus.cgroup_cpu_quota(root, proc) == 2.5
    assert cpus.usable_cpus(root, proc) == 3


def test_cgroup_v1_no_quota_is_minus_one(fake):
    root, proc = fake("2:cpuacct:/\n1:cpu:/\n0::/\n", {
        "cpu/cpu.cfs_quota_us": "-1", "cpu/cpu.cfs_period_us": "100000"})
    assert cpus.cgroup_cpu_quota(root, proc) is None
    assert cpus.usable_cpus(root, proc) == 8


def test_hybrid_v1_and_v2_the_smaller_quota_counts(fake):
    root, proc = fake("1:cpu:/\n0::/\n", {
        "cpu/cpu.cfs_quota_us": "400000", "cpu/cpu.cfs_period_us": "100000", "unified/cpu.max": "200000 100000"})
    assert cpus.usable_cpus(root, proc) == 2


def test_a_quota_above_the_affinity_does_not_raise_it(fake):
    root, proc = fake("0::/\n", {"cpu.max": "1600000 100000"})
    assert cpus.usable_cpus(root, proc) == 8


def test_missing_or_garbled_cgroup_files_mean_no_quota(tmp_path, fake):
    assert cpus.cgroup_cpu_quota(tmp_path / "nowhere", tmp_path / "nothing") is None
    root, proc = fake("garbage\n0::/\n", {"cpu.max": "lots of cpus"})
    assert cpus.cgroup_cpu_quota(root, proc) is None
    assert cpus.usable_cpus(root, proc) == 8


def test_without_sched_getaffinity_it_falls_back_to_cpu_count(tmp_path, monkeypatch):
    """macOS and Windows: os has no sched_getaffinity (and no /proc): os.cpu_count() counts, a quota still caps it."""
    monkeypatch.delattr(os, "sched_getaffinity", raising=False)
    monkeypatch.setattr(os, "cpu_count", lambda: 10)
    assert cpus.affinity_cpus() is None
    assert cpus.usable_cpus(tmp_path / "no-sys", tmp_path / "no-proc") == 10
    make(tmp_path / "sys", {"cpu.max": "300000 100000"})
    (tmp_path / "proc").write_text("0::/\n")
    assert cpus.usable_cpus(tmp_path / "sys", tmp_path / "proc") == 3
    monkeypatch.setattr(os, "cpu_count", lambda: None)
    assert cpus.usable_cpus(tmp_path / "no-sys", tmp_path / "no-proc") == 1


def test_the_module_defaults_are_read_at_call_time(tmp_path, fake, monkeypatch):
    """A function sent to an engine calls usable_cpus() without arguments: CGROUP_ROOT and PROC_CGROUP say where."""
    root, proc = fake("0::/\n", {"cpu.max": "100000 100000"})
    monkeypatch.setattr(cpus, "CGROUP_ROOT", str(root))
    monkeypatch.setattr(cpus, "PROC_CGROUP", str(proc))
    assert cpus.usable_cpus() == 1


def test_on_this_machine_it_is_at_most_the_affinity():
    n = cpus.usable_cpus()
    assert 1 <= n <= (len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else os.cpu_count())
    quota = cpus.cgroup_cpu_quota()
    assert quota is None or n <= max(1, math.ceil(quota))


def test_thread_environment_names_every_library():
    assert cpus.thread_environment(3) == {"OMP_NUM_THREADS": "3", "OPENBLAS_NUM_THREADS": "3", "MKL_NUM_THREADS": "3",
                                          "VECLIB_MAXIMUM_THREADS": "3"}


def test_blas_pools_limitable_follows_threadpoolctl(monkeypatch):
    import threadpoolctl
    monkeypatch.setattr(threadpoolctl, "threadpool_info", lambda: [{"user_api": "openmp", "num_threads": 4}])
    assert cpus.blas_pools_limitable() is False  # Accelerate: threadpoolctl lists no blas pool
    monkeypatch.setattr(threadpoolctl, "threadpool_info", lambda: [{"user_api": "blas", "num_threads": 2}])
    assert cpus.blas_pools_limitable() is True
