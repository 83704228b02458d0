"""Launch links (course/launch.toml, course.launch): their form, the site's buttons, and binder/start leaving a
working 4-engine cluster."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path
from urllib.parse import parse_qs, unquote, urlsplit

import pytest

from course.launch import CONFIG, LaunchConfig, LaunchConfigError, binder_link, hub_link, load
from grader.book import build_book

ROOT = Path(__file__).resolve().parents[2]
CFG = LaunchConfig(repository="https://github.com/someone/ipp-course", branch="spring", hub="https://hub.uni.edu",
                   interface="lab", binderhub="https://mybinder.org")


def test_the_hub_link_pulls_the_student_repository_and_opens_the_path_in_its_folder():
    url = urlsplit(hub_link(CFG, "notebooks/01-start-a-cluster.ipynb"))
    assert (url.scheme, url.netloc, url.path) == ("https", "hub.uni.edu", "/hub/user-redirect/git-pull")
    q = {k: v[0] for k, v in parse_qs(url.query).items()}
    assert q == {"repo": "https://github.com/someone/ipp-course", "branch": "spring",
                 "urlpath": "lab/tree/ipp-course/notebooks/01-start-a-cluster.ipynb"}
    classic = LaunchConfig(**{**CFG.__dict__, "interface": "tree", "repository": "https://git.uni.edu/c/x.git"})
    q = parse_qs(urlsplit(hub_link(classic, "exercises/02-use-direct-views.ipynb")).query)
    assert q["urlpath"] == ["tree/x/exercises/02-use-direct-views.ipynb"]


def test_the_binder_link_builds_the_repository_at_its_branch():
    url = urlsplit(binder_link(CFG, "exercises/05-push-and-pull-variables.ipynb"))
    assert (url.netloc, url.path) == ("mybinder.org", "/v2/gh/someone/ipp-course/spring")
    assert parse_qs(url.query) == {"urlpath": ["lab/tree/exercises/05-push-and-pull-variables.ipynb"]}
    other = LaunchConfig(**{**CFG.__dict__, "repository": "https://git.uni.edu/c/x.git", "branch": "a/b"})
    url = urlsplit(binder_link(other, "notebooks/01-start-a-cluster.ipynb"))
    assert url.path.startswith("/v2/git/")
    repo, branch = url.path.removeprefix("/v2/git/").split("/")
    assert (unquote(repo), unquote(branch)) == ("https://git.uni.edu/c/x.git", "a/b")


@pytest.mark.parametrize("path", ["/etc/passwd", "../other/x.ipynb", "notebooks/../../x", ""])
def test_a_path_outside_the_repository_makes_no_link(path):
    for link in (hub_link, binder_link):
        with pytest.raises(ValueError, match="inside the student repository"):
            link(CFG, path)


def test_the_shipped_configuration_loads_and_a_broken_one_says_what_is_wrong(tmp_path):
    cfg = load()
    assert cfg.repository.startswith("https://") and cfg.branch and cfg.folder
    text = CONFIG.read_text()
    for broken, why in [(text.replace('url = "https://mybinder.org"', 'url = "http://mybinder.org"'), "https://"),
                        (text.replace('interface = "lab"', 'interface = "classic"'), "interface"),
                        (text.replace("[binder]", "[binderhub]"), "missing or malformed"),
                        ("[student_repository\n", "launch.toml")]:
        (tmp_path / "launch.toml").write_text(broken)
        with pytest.raises(LaunchConfigError, match=why):
            load(tmp_path / "launch.toml")


def test_every_lesson_page_of_the_site_has_its_launch_links_and_its_exercises(tmp_path):
    (tmp_path / "notebooks").mkdir()
    (tmp_path / "release").mkdir()
    names = [p.stem for p in sorted((ROOT / "notebooks").glob("0[12]-*.ipynb"))]
    for name in names:
        (tmp_path / "notebooks" / f"{name}.ipynb").write_bytes((ROOT / "notebooks" / f"{name}.ipynb").read_bytes())
        (tmp_path / "release" / f"{name}.ipynb").write_bytes((ROOT / "exercises" / f"{name}.ipynb").read_bytes())
    index = build_book(tmp_path / "site", {}, tmp_path / "release", launch=CFG, notebooks=tmp_path / "notebooks")
    for name in names:
        page = (index.parent / "lessons" / f"{name}.html").read_text(encoding="utf-8")
        for path in (f"notebooks/{name}.ipynb", f"exercises/{name}.ipynb"):
            for link in (hub_link(CFG, path), binder_link(CFG, path)):
                assert link.replace("&", "&amp;") in page, (name, link)


def test_binder_start_leaves_a_working_four_engine_cluster_and_runs_the_command(tmp_path):
    env = dict(os.environ, IPYTHONDIR=str(tmp_path / "ipython"), TMPDIR=str(tmp_path),
               PATH=f"{Path(sys.executable).parent}{os.pathsep}{os.environ['PATH']}")
    check = ("import ipyparallel as ipp, os; rc = ipp.Client(); rc.wait_for_engines(4, timeout=120); "
             "print(sorted(rc.ids), len(set(rc[:].apply_sync(os.getpid)))); rc.close()")
    try:
        done = subprocess.run([str(ROOT / "binder" / "start"), sys.executable, "-c", check], env=env,
                              capture_output=True, text=True, timeout=300)
        assert done.returncode == 0, done.stderr + (tmp_path / "course-cluster.log").read_text()
        assert done.stdout.strip() == "[0, 1, 2, 3] 4", done.stdout
    finally:
        stop = subprocess.run([sys.executable, "-m", "course", "cluster", "stop"], env=env, capture_output=True,
                              text=True, timeout=120)
        assert stop.returncode == 0, stop.stderr
