"""A student who starts the cluster the way JupyterLab offers, in a real browser (Debian's chromium,
support/browser.py).

JupyterLab runs as a student starts it (``jupyter lab --no-browser``, on 127.0.0.1 with a fresh token and fresh
IPython and Jupyter directories), with the course's server extension (``course.jupyter``, which ``dev.py``
enables).  In the browser: START on the ``default`` entry of the *IPython Parallel* panel, lesson 01 and lesson
02 run through JupyterLab's Run menu with no error output, a solved exercise checks itself with ``check()`` (no
``Out[..]`` under the report), and STOP on the panel stops the cluster.  Between those steps the test checks
that ``course cluster status`` sees the cluster the panel started, that ``course cluster start`` refuses to
start a second one beside it; then, the other way round, that the panel lists a cluster started with
``course cluster start`` as running and its STOP stops it; and, at the end, that no process of the clusters or
of JupyterLab is left.
"""

from __future__ import annotations

import contextlib
import json
import os
import secrets
import shutil
import signal
import socket
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

import nbformat
import psutil
import pytest

from grader.exercise import load_exercises
from grader.release import student_version
from procbox import ippcluster
from support.browser import SCREENSHOTS, open_browser
from support.builders import solved, write

ROOT = Path(__file__).resolve().parents[2]
LESSONS = ["01-start-a-cluster", "02-use-direct-views"]
EXERCISE = "04-write-parallel-functions"
UI_MS = 60_000  # how long a click's effect may take to show (JupyterLab's first load compiles nothing, but CI is slow)
RUN_MS = 300_000  # how long a notebook may take to run to its end
pytestmark = pytest.mark.timeout(900)


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _api(base: str, token: str, path: str, method: str = "GET"):
    req = urllib.request.Request(f"{base}{path}", method=method, headers={"Authorization": f"token {token}"})
    with urllib.request.urlopen(req, timeout=10) as r:
        body = r.read()
    return json.loads(body) if body else None


def _wait(condition, timeout: float, what: str, proc: subprocess.Popen | None = None, log: Path | None = None):
    """Poll ``condition()`` until it returns something true; fail saying ``what`` if it does not in ``timeout`` s."""
    deadline = time.monotonic() + timeout
    while True:
        if proc is not None and proc.poll() is not None:
            pytest.fail(f"JupyterLab exited ({proc.returncode}) while waiting for {what}; its log ends: "
                        + (log.read_text(errors="replace")[-2000:] if log else ""))
        try:
            value = condition()
        except (OSError, ValueError):
            value = None
        if value:
            return value
        if time.monotonic() > deadline:
            pytest.fail(f"{what} did not happen in {timeout:.0f} s")
        time.sleep(0.1)


@pytest.fixture(scope="module")
def lab(tmp_path_factory):
    """JupyterLab serving a student's copy of two lessons and a solved exercise; stopped by PID at the end, and
    every process it started (kernels, the panel's cluster) checked gone."""
    tmp = tmp_path_factory.mktemp("lab")
    root = tmp / "course"
    for name in LESSONS:
        (root / "notebooks").mkdir(parents=True, exist_ok=True)
        shutil.copy(ROOT / "notebooks" / f"{name}.ipynb", root / "notebooks")
    exercise = load_exercises(ROOT / "exercises")[EXERCISE]
    nb = solved(exercise)
    nb.cells.append(nbformat.v4.new_code_cell("from course import check\ncheck()"))
    write(nb, root / "exercises" / f"{EXERCISE}.ipynb")
    assert student_version(exercise.nb)  # the exercise releases
    env = {**os.environ, "IPYTHONDIR": str(tmp / "ipython"), "JUPYTER_CONFIG_DIR": str(tmp / "jupyter-config"),
           "JUPYTER_DATA_DIR": str(tmp / "jupyter-data"), "JUPYTER_RUNTIME_DIR": str(tmp / "jupyter-runtime"),
           "JUPYTER_PLATFORM_DIRS": "1"}
    env.pop("JPY_SESSION_NAME", None)
    # JupyterLab's own settings for this student: every cell rendered (4.x renders only the cells in view by
    # default, and the prompts of the others would not tell that they ran), and no news to ask about
    settings = tmp / "jupyter-config" / "lab" / "user-settings" / "@jupyterlab"
    (settings / "notebook-extension").mkdir(parents=True)
    (settings / "notebook-extension" / "tracker.jupyterlab-settings").write_text('{"windowingMode": "none"}')
    (settings / "apputils-extension").mkdir(parents=True)
    (settings / "apputils-extension" / "notification.jupyterlab-settings").write_text('{"fetchNews": "false"}')
    token, port = secrets.token_hex(24), _free_port()
    base = f"http://127.0.0.1:{port}"
    log = tmp / "jupyterlab.log"
    with open(log, "wb") as out:
        proc = subprocess.Popen(
            [sys.executable, "-m", "jupyterlab", "--no-browser", "--ip=127.0.0.1", f"--port={port}",
             f"--IdentityProvider.token={token}", f"--ServerApp.root_dir={root}", "--ServerApp.port_retries=0",
             "--LabApp.news_url=", "--allow-root", "--LabApp.check_for_updates_class=jupyterlab.NeverCheckForUpdate"],
            cwd=root, env=env, stdin=subprocess.DEVNULL, stdout=out, stderr=subprocess.STDOUT,
            start_new_session=True)
    seen: dict[int, float] = {}  # every process JupyterLab started, by PID and start time, for the check at the end
    try:
        _wait(lambda: _api(base, token, "/api/status") is not None, 120, "JupyterLab answering", proc, log)
        yield {"base": base, "token": token, "root": root, "env": env, "proc": proc, "log": log, "seen": seen,
               "ipython_dir": tmp / "ipython"}
    finally:
        with_children(proc.pid, seen)
        try:
            for kernel in _api(base, token, "/api/kernels") or []:
                _api(base, token, f"/api/kernels/{kernel['id']}", "DELETE")
        except OSError:
            pass
        proc.send_signal(signal.SIGTERM)  # Jupyter Server stops its kernels, and the panel's clusters, on exit
        try:
            proc.wait(60)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait(10)
        left = _wait_gone(seen, 60)  # nannies may take their sockets' 30 s linger to follow their engines
        for pid in left:
            with contextlib.suppress(psutil.Error):
                psutil.Process(pid).kill()
        assert not left, f"JupyterLab left processes running: {left}"


def with_children(pid: int, seen: dict[int, float]) -> None:
    """Add ``pid``'s live descendants to ``seen`` (the panel's controller and engines, their nannies, kernels)."""
    try:
        for child in psutil.Process(pid).children(recursive=True):
            try:
                seen.setdefault(child.pid, child.create_time())
            except psutil.Error:
                continue
    except psutil.Error:
        pass


def _wait_gone(seen: dict[int, float], timeout: float) -> list[int]:
    def alive():
        live = []
        for pid, created in seen.items():
            try:
                p = psutil.Process(pid)
                if abs(p.create_time() - created) < 0.01 and p.status() != psutil.STATUS_ZOMBIE:
                    live.append(pid)
            except psutil.Error:
                continue
        return live

    deadline = time.monotonic() + timeout
    while (live := alive()) and time.monotonic() < deadline:
        time.sleep(0.1)
    return live


def course(*args, env) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "course", *args], capture_output=True, text=True, env=env,
                          timeout=120)


def cluster_pids(ipython_dir: Path) -> list[int]:
    """The PIDs of the controller and engines that ipyparallel's cluster file of profile_default lists."""
    data = json.loads((ipython_dir / "profile_default" / "security" / "cluster-.json").read_text())
    pids = [data["controller"]["state"]["pid"]]
    for engine_set in data["engines"]["sets"].values():
        pids += [e["pid"] for e in engine_set["engines"].values()]
    return pids


def run_notebook(page, lab, relpath: str, name: str) -> nbformat.NotebookNode:
    """Open a notebook in JupyterLab, run every cell with Run > Run All Cells, save it with Ctrl+S, and return
    what JupyterLab saved (outputs included)."""
    base, token = lab["base"], lab["token"]
    # ?reset: a workspace with this notebook only, so that the Run menu acts on it and on nothing else
    page.goto(f"{base}/lab/tree/{relpath}?reset&token={token}")
    page.locator(".jp-NotebookPanel:not(.lm-mod-hidden) .jp-Notebook").first.wait_for(timeout=UI_MS)
    _wait(lambda: len(page.locator(".jp-NotebookPanel").all()) == 1, 60, f"{relpath} alone in JupyterLab")
    page.locator(".jp-NotebookPanel .jp-Cell").first.click()  # the notebook is the current widget
    # the kernel is up when the server has it idle and the status bar (the browser's connection to it) says so
    _wait(lambda: any(s["path"].endswith(relpath) and s["kernel"]["execution_state"] == "idle"
                      for s in _api(base, token, "/api/sessions")), 120, f"the kernel of {relpath}")
    page.locator(".jp-StatusBar-Widget", has_text="| Idle").first.wait_for(timeout=UI_MS)
    page.locator(".lm-MenuBar-itemLabel", has_text="Run").first.click()
    page.locator(".lm-Menu-itemLabel", has_text="Run All Cells").first.click()
    # the first code cell is queued or done: the run has started
    page.wait_for_function("""() => {
        const p = document.querySelector('.jp-NotebookPanel:not(.lm-mod-hidden) .jp-CodeCell .jp-InputArea-prompt');
        return p && /^\\[(\\*|\\d+)\\]:$/.test(p.textContent.trim());
    }""", timeout=UI_MS)
    done = """() => {
        const nb = document.querySelector('.jp-NotebookPanel:not(.lm-mod-hidden) .jp-Notebook');
        if (!nb) return false;
        const prompts = [...nb.querySelectorAll('.jp-CodeCell .jp-InputArea-prompt')].map(p => p.textContent.trim());
        const s = document.querySelector('.jp-NotebookPanel:not(.lm-mod-hidden) .jp-Notebook-ExecutionIndicator');
        return prompts.length > 0 && prompts.every(t => /^\\[\\d+\\]:$/.test(t)) && s
            && s.getAttribute('data-status') === 'idle';
    }"""
    try:
        page.wait_for_function(done, timeout=RUN_MS)
    except Exception:
        page.screenshot(path=str(SCREENSHOTS / f"jupyterlab-{name}-stuck.png"), full_page=False)
        state = page.evaluate("""() =>
            [...document.querySelectorAll('.jp-NotebookPanel:not(.lm-mod-hidden) .jp-CodeCell')]
            .map(c => (c.querySelector('.jp-InputArea-prompt') || {}).textContent + ' ' +
                      (c.querySelector('.jp-OutputArea') || {innerText: ''}).innerText.slice(0, 300))""")
        pytest.fail(f"{relpath} did not run to its end in JupyterLab; its cells: " + "\n".join(state))
    page.screenshot(path=str(SCREENSHOTS / f"jupyterlab-{name}.png"), full_page=False)
    path = lab["root"] / relpath
    before = path.stat().st_mtime_ns
    page.keyboard.press("Control+s")
    _wait(lambda: path.stat().st_mtime_ns != before and all(
        c.execution_count for c in nbformat.read(path, as_version=4).cells if c.cell_type == "code"),
        60, f"JupyterLab saving {relpath}")
    return nbformat.read(path, as_version=4)


def errors_in(nb) -> list[str]:
    """Error outputs and text written to stderr, in cells not tagged raises-exception."""
    found = []
    for i, cell in enumerate(nb.cells):
        if cell.cell_type != "code" or "raises-exception" in cell.metadata.get("tags", []):
            continue
        for out in cell.outputs:
            if out.output_type == "error":
                found.append(f"cell {i}: {out.ename}: {out.evalue}")
            elif out.output_type == "stream" and out.name == "stderr":
                found.append(f"cell {i} stderr: {out.text[:300]}")
    return found


def panel_entry(page, key: str):
    return page.locator(f'li.ipp-ClusterListingItem[data-cluster-id="{key}"]')


def test_a_student_starts_the_cluster_from_the_panel_runs_lessons_and_checks_an_exercise(lab):
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    env = {**lab["env"]}
    ipython_dir = lab["ipython_dir"]
    # the course's server extension put its profile in place for the panel
    config = ipython_dir / "profile_default" / "ipcluster_config.py"
    assert "c.Cluster.n = 4" in config.read_text()
    with open_browser() as browser:
        page = browser.new_page(viewport={"width": 1400, "height": 900})
        page.goto(f"{lab['base']}/lab?token={lab['token']}")
        page.locator(".jp-LabShell").wait_for(timeout=UI_MS)
        page.locator('.jp-SideBar [title="IPython Parallel"]').first.click()
        entry = panel_entry(page, "default:")
        entry.wait_for(timeout=UI_MS)
        entry.locator(".ipp-ClusterListingItem-start").click()
        # START returns once the controller and 4 engine processes are up: the entry shows STOP
        entry.locator(".ipp-ClusterListingItem-stop:not(.ipp-hidden)").wait_for(timeout=UI_MS)
        page.screenshot(path=str(SCREENSHOTS / "jupyterlab-panel-started.png"))
        pids = cluster_pids(ipython_dir)
        assert len(pids) == 1 + 4, pids
        cluster_procs = {p: psutil.Process(p).create_time() for p in pids}
        with_children(lab["proc"].pid, lab["seen"])

        # `course cluster` sees the cluster the panel started, and will not start another beside it
        status = course("cluster", "status", env=env)
        assert status.returncode == 0 and "started by ipyparallel" in status.stdout, status.stdout + status.stderr
        assert f"controller  pid {pids[0]}  running" in status.stdout, status.stdout
        again = course("cluster", "start", env=env)
        assert again.returncode == 1 and "already running" in again.stderr, again.stdout + again.stderr

        for name in LESSONS:
            nb = run_notebook(page, lab, f"notebooks/{name}.ipynb", name)
            assert not errors_in(nb), errors_in(nb)
            with_children(lab["proc"].pid, lab["seen"])
        ids = [c for c in nbformat.read(lab["root"] / "notebooks" / f"{LESSONS[0]}.ipynb", as_version=4).cells
               if c.cell_type == "code" and c.source.strip() == "ids = rc.ids\nids"]
        assert ids and ids[0].outputs[0]["data"]["text/plain"] == "[0, 1, 2, 3]"

        nb = run_notebook(page, lab, f"exercises/{EXERCISE}.ipynb", EXERCISE)
        assert not errors_in(nb), errors_in(nb)
        report = nb.cells[-1]
        text = "".join(o.get("text", "") for o in report.outputs if o.output_type == "stream")
        assert "Public tests:" in text and "PASS" in text and "FAILED" not in text, text
        assert not [o for o in report.outputs if o.output_type == "execute_result"], report.outputs  # no Out[..]
        with_children(lab["proc"].pid, lab["seen"])

        # STOP on the panel stops the cluster: its processes and its files go, and `course cluster` says so
        entry = panel_entry(page, "default:")
        page.locator('.jp-SideBar [title="IPython Parallel"]').first.click()
        entry.locator(".ipp-ClusterListingItem-stop:not(.ipp-hidden)").click()
        entry.locator(".ipp-ClusterListingItem-start:not(.ipp-hidden)").wait_for(timeout=UI_MS)
        page.screenshot(path=str(SCREENSHOTS / "jupyterlab-panel-stopped.png"))
        assert not _wait_gone(cluster_procs, 60)
        security = ipython_dir / "profile_default" / "security"
        assert not (security / "cluster-.json").exists() and not (security / "ipcontroller-client.json").exists()
        status = course("cluster", "status", env=env)
        assert status.returncode == 1 and "No course cluster" in status.stdout, status.stdout

        # the other way round: the panel lists a cluster started with `course cluster start` as running, and stops it
        started = course("cluster", "start", env=env)
        assert started.returncode == 0, started.stdout + started.stderr
        rec = ippcluster.Record.load(ippcluster.record_path(ipython_dir / "profile_default"))
        course_procs = {p.pid: p.create_time for p in rec.all_procs()}
        stopped_by_panel = {p.pid: p.create_time for p in rec.all_procs() if p.role in ("controller", "engine")}
        assert len(stopped_by_panel) == 1 + 4, rec
        page.locator('[title="Refresh Cluster List"]').first.click()
        entry.locator(".ipp-ClusterListingItem-stop:not(.ipp-hidden)").wait_for(timeout=UI_MS)
        entry.locator(".ipp-ClusterListingItem-stop:not(.ipp-hidden)").click()
        entry.locator(".ipp-ClusterListingItem-start:not(.ipp-hidden)").wait_for(timeout=UI_MS)
    # the panel's STOP ends the controller and the engines; each engine's nanny then exits by itself (once it has
    # noticed, and its sockets have let go), and `course cluster stop` ends by PID whatever of the record is left
    left = _wait_gone(stopped_by_panel, 60)
    assert not left, [" ".join(psutil.Process(p).cmdline())[:150] for p in left if psutil.pid_exists(p)]
    assert course("cluster", "stop", env=env).returncode == 0
    left = _wait_gone(course_procs, 10)
    assert not left, [" ".join(psutil.Process(p).cmdline())[:150] for p in left if psutil.pid_exists(p)]
    status = course("cluster", "status", env=env)
    assert status.returncode == 1 and "No course cluster" in status.stdout, status.stdout
