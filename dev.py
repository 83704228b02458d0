#!/usr/bin/env python3
"""Set up everything on a fresh machine, then run the demo or the tests.

    python3 dev.py demo    # execute the course on a 4-engine cluster and grade a sample class
    python3 dev.py test    # the test suite (what CI runs)

Needs only Python >= 3.11 and the package index: it creates ``.venv`` next to this file,
installs the project into it (again whenever pyproject.toml changes), and runs the
command there.  Extra arguments go to the command (``python3 dev.py test -k cluster``).
"""

import hashlib
import os
import subprocess
import sys
import venv
from pathlib import Path

ROOT = Path(__file__).resolve().parent
VENV = ROOT / ".venv"
PY = VENV / ("Scripts/python.exe" if os.name == "nt" else "bin/python")
COMMANDS = {
    "demo": ["-m", "grader", "demo"],
    "test": ["-m", "pytest"],
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


def main(argv: list[str]) -> int:
    if not argv or argv[0] not in COMMANDS:
        print(__doc__, file=sys.stderr)
        return 2
    ensure_environment()
    return subprocess.call([str(PY), *COMMANDS[argv[0]], *argv[1:]], cwd=ROOT)


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
