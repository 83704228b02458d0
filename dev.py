#!/usr/bin/env python3
"""Set up everything on a fresh machine, then run the demo or the tests.

    python3 dev.py demo    # execute the course on a 4-engine cluster and grade a sample class
    python3 dev.py test    # ruff, mypy, then the test suite (what CI runs)
    python3 dev.py docs    # the documentation site, lessons executed on a 4-engine cluster: docs/_build/html/index.html

Needs only Python >= 3.11 and the package index: it creates ``.venv`` next to this file,
installs the project into it (again whenever pyproject.toml changes), and runs the
command there.  Extra arguments go to the command (``python3 dev.py test -k cluster``).
``test`` first lints (``ruff check .``) and type-checks (``mypy``, configured in pyproject.toml)
and stops there if either fails.
For ``test`` it also makes sure the Debian packages the tests need are there (chromium for
the browser tests, slurm-wlm and munge for the Slurm tests), installed with apt-get when
run as root, as CI runs it.
"""

import hashlib
import os
import shutil
import subprocess
import sys
import venv
from pathlib import Path

ROOT = Path(__file__).resolve().parent
VENV = ROOT / ".venv"
PY = VENV / ("Scripts/python.exe" if os.name == "nt" else "bin/python")
# Debian packages the tests need, by a file each installs: the browser tests drive Debian's chromium (playwright's
# own browsers are not reachable), the Slurm tests start their own single-node slurmctld, slurmd and munged.
SYSTEM_PACKAGES = {
    "/usr/bin/chromium": ["chromium", "fonts-dejavu-core"],
    "/usr/sbin/slurmctld": ["slurm-wlm"],
    "/usr/sbin/munged": ["munge"],
}
# Jupyter Server reads which extensions to load from <prefix>/etc/jupyter/jupyter_server_config.d/; a wheel puts
# the course's file there (pyproject's data-files), an editable install does not, so this copies it.
SERVER_CONFIG = ROOT / "jupyter-config" / "jupyter_server_config.d" / "going-parallel.json"
COMMANDS = {
    "demo": ["-m", "grader", "demo"],
    "test": ["-m", "pytest"],
    "docs": ["-m", "grader", "book", "docs/_build/html", "--execute"],
}
# Run from the venv before the tests, in this order; the first that fails stops the run.
CHECKS = {
    "ruff": ["-m", "ruff", "check", "."],
    "mypy": ["-m", "mypy"],
}


def ensure_environment() -> None:
    stamp = VENV / ".installed"
    want = hashlib.sha256((ROOT / "pyproject.toml").read_bytes()).hexdigest()
    if PY.exists() and stamp.exists() and stamp.read_text() == want:
        return
    if not PY.exists():
        print(f"dev.py: creating {VENV}", flush=True)
        venv.EnvBuilder(with_pip=True).create(VENV)
    print("dev.py: installing the project and its dependencies (first run only) ...", flush=True)
    pip = [str(PY), "-m", "pip", "install", "--disable-pip-version-check", "--quiet"]
    subprocess.run(pip + ["--upgrade", "pip"], check=True)
    subprocess.run(pip + ["-e", f"{ROOT}[test]"], check=True, cwd=ROOT)
    stamp.write_text(want)


def ensure_server_extension() -> None:
    """Enable course.jupyter in the venv's Jupyter Server (JupyterLab's cluster panel starts the course's cluster)."""
    target = VENV / "etc" / "jupyter" / "jupyter_server_config.d" / SERVER_CONFIG.name
    if not target.exists() or target.read_bytes() != SERVER_CONFIG.read_bytes():
        target.parent.mkdir(parents=True, exist_ok=True)
        shutil.copyfile(SERVER_CONFIG, target)


def ensure_system_packages() -> None:
    """Install the Debian packages of SYSTEM_PACKAGES that are missing (as root, with apt-get); else say what to
    install and go on: the tests that need them then fail with the same advice."""
    missing = [pkg for path, pkgs in SYSTEM_PACKAGES.items() if not Path(path).exists() for pkg in pkgs]
    if not missing:
        return
    apt = shutil.which("apt-get")
    if not apt or not hasattr(os, "geteuid") or os.geteuid() != 0:
        print(f"dev.py: missing Debian packages and this is not root with apt-get: install {' '.join(missing)} "
              "(apt-get install --no-install-recommends ...) or the browser and Slurm tests fail", flush=True)
        return
    print(f"dev.py: installing {' '.join(missing)} with apt-get for the browser and Slurm tests ...", flush=True)
    env = dict(os.environ, DEBIAN_FRONTEND="noninteractive")
    install = [apt, "install", "-y", "-q", "--no-install-recommends", *missing]
    update = [apt, "update", "-q"]
    quiet = {"env": env, "stdout": subprocess.DEVNULL}
    if not any(Path("/var/lib/apt/lists").glob("*_Packages*")):  # no package lists yet (a fresh image)
        subprocess.run(update, check=True, **quiet)
    if subprocess.run(install, **quiet).returncode != 0:  # lists too old to find it: update once and retry
        subprocess.run(update, check=True, **quiet)
        subprocess.run(install, check=True, **quiet)


# The project's own packages, compiled to bytecode before a command runs (see compile_sources).
SOURCES = ("procbox", "course", "grader", "tests")


def compile_sources(folders=SOURCES, root: Path = ROOT) -> None:
    """Write the bytecode of the project's modules (``__pycache__``), where it is missing or older than the source.

    The demo and the tests start hundreds of Python processes that import the grader, and an environment that says
    not to write bytecode (``PYTHONDONTWRITEBYTECODE``, set on many CI images) makes each compile every module it
    imports again: some 0.7 CPU s for ``import grader.grade``.  Python still reads bytecode it finds, and compileall
    writes it whatever that variable says."""
    subprocess.run([str(PY), "-m", "compileall", "-q", *[str(root / f) for f in folders if (root / f).is_dir()]],
                   check=True, stdout=subprocess.DEVNULL)


def run_checks() -> int:
    """The linter and the type checker (configured in pyproject.toml); the exit code of the first that fails."""
    for name, args in CHECKS.items():
        print(f"dev.py: {name} ...", flush=True)
        code = subprocess.call([str(PY), *args], cwd=ROOT)
        if code != 0:
            print(f"dev.py: {name} failed (exit code {code}); the tests were not run. Fix what it reports above, "
                  f"and run it alone with: .venv/bin/python {' '.join(args)}", file=sys.stderr, flush=True)
            return code
    return 0


def main(argv: list[str]) -> int:
    if not argv or argv[0] not in COMMANDS:
        print(__doc__, file=sys.stderr)
        return 2
    ensure_environment()
    ensure_server_extension()
    compile_sources()
    if argv[0] == "test":
        if code := run_checks():
            return code
        ensure_system_packages()
    return subprocess.call([str(PY), *COMMANDS[argv[0]], *argv[1:]], cwd=ROOT)


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
