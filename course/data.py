"""The n-gram sample data and a local HTTP mirror of Google's bucket layout.

Google publishes the Books Ngram files under
``http://storage.googleapis.com/books/ngrams/books/<file>``.  The course ships
small files in the same format (``data/ngrams``) and serves them on 127.0.0.1
under the same path, so the download code in the notebooks is the code you
would point at Google: only the base URL changes.

- ``NGRAM_BASE_URL`` set: notebooks download from there (set it to
  :data:`GOOGLE_BASE_URL` to use the real bucket).
- unset: :func:`mirror_url` starts a mirror in this process and returns its URL.
"""

from __future__ import annotations

import hashlib
import http.server
import json
import os
import threading
from dataclasses import dataclass
from pathlib import Path

ENV_VAR = "NGRAM_BASE_URL"
PATH_PREFIX = "/books/ngrams/books/"
GOOGLE_BASE_URL = "http://storage.googleapis.com" + PATH_PREFIX
DATA_DIR = Path(os.environ.get("COURSE_DATA_DIR", Path(__file__).resolve().parents[1] / "data" / "ngrams"))


def load_manifest(data_dir: Path = DATA_DIR) -> list[dict]:
    """The manifest's entries: ``file``, ``bytes``, ``sha256``, ``lines``."""
    path = Path(data_dir) / "manifest.json"
    try:
        return json.loads(path.read_text())["files"]
    except FileNotFoundError:
        raise FileNotFoundError(
            f"{path}: no n-gram manifest here; regenerate the data with `python data/make_ngrams.py`"
        ) from None


def file_names(data_dir: Path = DATA_DIR) -> list[str]:
    """Names of the sample files, in manifest order."""
    return [entry["file"] for entry in load_manifest(data_dir)]


def verify(data_dir: Path = DATA_DIR) -> list[str]:
    """Check every file against the manifest; return one message per problem."""
    problems = []
    for entry in load_manifest(data_dir):
        path = Path(data_dir) / entry["file"]
        if not path.is_file():
            problems.append(f"{path}: missing")
            continue
        data = path.read_bytes()
        if len(data) != entry["bytes"]:
            problems.append(f"{path}: {len(data)} bytes, manifest says {entry['bytes']}")
        elif hashlib.sha256(data).hexdigest() != entry["sha256"]:
            problems.append(f"{path}: sha256 differs from the manifest")
    return problems


class _Handler(http.server.BaseHTTPRequestHandler):
    """Serve only the manifest's files under Google's path layout; 404 otherwise."""

    server: "_Server"

    def do_GET(self):  # noqa: N802 (http.server's naming)
        self._send(body=True)

    def do_HEAD(self):  # noqa: N802
        self._send(body=False)

    def _send(self, body: bool) -> None:
        path = self.path.split("?", 1)[0]
        name = path[len(PATH_PREFIX):] if path.startswith(PATH_PREFIX) else None
        if name not in self.server.files:
            self.send_error(404, f"no such n-gram file: {path}")
            return
        data = (self.server.data_dir / name).read_bytes()
        self.send_response(200)
        self.send_header("Content-Type", "application/octet-stream")
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        if body:
            self.wfile.write(data)

    def log_message(self, format, *args):  # quiet: notebooks and graders read stdout
        pass


class _Server(http.server.ThreadingHTTPServer):
    daemon_threads = True
    data_dir: Path
    files: frozenset


@dataclass
class Mirror:
    """A running mirror; stop it with :meth:`stop` or use it as a context manager."""

    server: _Server
    thread: threading.Thread | None = None

    @property
    def url(self) -> str:
        host, port = self.server.server_address[:2]
        return f"http://{host}:{port}{PATH_PREFIX}"

    def stop(self) -> None:
        if self.thread is not None:
            self.server.shutdown()
            self.thread.join()
            self.thread = None
        self.server.server_close()

    def __enter__(self) -> "Mirror":
        return self

    def __exit__(self, *exc) -> None:
        self.stop()


def _make_server(port: int, data_dir: Path) -> _Server:
    server = _Server(("127.0.0.1", port), _Handler)
    server.data_dir = Path(data_dir)
    server.files = frozenset(file_names(data_dir))
    return server


def start_mirror(port: int = 0, data_dir: Path = DATA_DIR) -> Mirror:
    """Serve the sample files on 127.0.0.1 from a background thread (port 0: any free port)."""
    server = _make_server(port, data_dir)
    thread = threading.Thread(target=server.serve_forever, name="ngram-mirror", daemon=True)
    thread.start()
    return Mirror(server, thread)


def serve(port: int = 8765, data_dir: Path = DATA_DIR) -> None:
    """Serve in the foreground until interrupted (``course data serve``)."""
    mirror = Mirror(_make_server(port, data_dir))
    print(f"Serving {len(mirror.server.files)} n-gram files at {mirror.url}", flush=True)
    print(f"In another shell: export {ENV_VAR}={mirror.url}", flush=True)
    try:
        mirror.server.serve_forever()
    except KeyboardInterrupt:
        pass
    finally:
        mirror.stop()


_process_mirror: Mirror | None = None
_lock = threading.Lock()


def mirror_url() -> str:
    """Base URL to download n-gram files from (ends with ``/``).

    ``$NGRAM_BASE_URL`` if set; otherwise a mirror started once in this process
    (it lives as long as the process, e.g. your notebook's kernel).
    """
    global _process_mirror
    url = os.environ.get(ENV_VAR)
    if url:
        return url if url.endswith("/") else url + "/"
    with _lock:
        if _process_mirror is None:
            _process_mirror = start_mirror()
        return _process_mirror.url
