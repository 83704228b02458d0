"""The n-gram sample data and a local HTTP mirror of Google's bucket layout.

Google publishes the Books Ngram files under
``http://storage.googleapis.com/books/ngrams/books/<file>``.  The course ships
small files in the same format (``data/ngrams``) and serves them on 127.0.0.1
under the same path, so the download code in the notebooks is the code you
would point at Google: only the base URL changes.

- ``NGRAM_BASE_URL`` set: notebooks download from there (set it to
  :data:`GOOGLE_BASE_URL` to use the real bucket).
- unset: :func:`mirror_url` starts a mirror in this process and returns its URL.

The mirror also answers ``/_manifest.json`` (the manifest, so code that may not read
``data/`` still knows the files: :func:`load_manifest` falls back to it) and
``/_served`` (JSON: every file it served, with the client's address and, where this
process may tell, the client's PID as its own PID namespace sees it).  A base URL
``http://HOST:PORT/_t/<token>/books/ngrams/books/`` serves the same files and tags
each record with ``token``; ``/_served?token=<token>`` lists only those, so a grader's
test can tell exactly what its own call downloaded.
"""

from __future__ import annotations

import hashlib
import http.server
import json
import os
import re
import socket
import threading
import time
import urllib.parse
import urllib.request
from dataclasses import dataclass
from pathlib import Path

ENV_VAR = "NGRAM_BASE_URL"
PATH_PREFIX = "/books/ngrams/books/"
GOOGLE_BASE_URL = "http://storage.googleapis.com" + PATH_PREFIX
PROJECT_DATA_DIR = Path(__file__).resolve().parents[1] / "data"
DATA_DIR = Path(os.environ.get("COURSE_DATA_DIR", PROJECT_DATA_DIR / "ngrams"))
MANIFEST_PATH = "/_manifest.json"
SERVED_PATH = "/_served"
_FILE_PATH = re.compile(r"^(?:/_t/([A-Za-z0-9_.-]{1,64}))?" + re.escape(PATH_PREFIX) + r"([^/]+)$")


def private_dirs() -> list[Path]:
    """The course's data directories, which graded code must not read (the grader hides them)."""
    return list(dict.fromkeys(p.resolve() for p in (PROJECT_DATA_DIR, DATA_DIR)))


def site_root(base_url: str) -> str:
    """``http://HOST:PORT`` of a mirror's base URL (with or without a ``/_t/<token>`` part)."""
    parts = urllib.parse.urlsplit(base_url)
    return f"{parts.scheme}://{parts.netloc}"


def load_manifest(data_dir: Path = DATA_DIR) -> list[dict]:
    """The manifest's entries: ``file``, ``bytes``, ``sha256``, ``lines``.

    Read from ``data_dir``; if that is the default directory and it cannot be read
    (graded code: the grader hides it), fetched from the mirror at ``$NGRAM_BASE_URL``."""
    path = Path(data_dir) / "manifest.json"
    try:
        return json.loads(path.read_text())["files"]
    except (FileNotFoundError, PermissionError):
        url = os.environ.get(ENV_VAR)
        if url and Path(data_dir) == DATA_DIR:
            try:
                with urllib.request.urlopen(site_root(url) + MANIFEST_PATH, timeout=30) as response:
                    return json.loads(response.read())["files"]
            except (OSError, ValueError, KeyError):
                pass
        raise FileNotFoundError(
            f"{path}: no n-gram manifest here; regenerate the data with `python data/make_ngrams.py`"
        ) from None


def served(base_url: str, token: str | None = None) -> list[dict]:
    """What the mirror at ``base_url`` has served (only under ``/_t/<token>/`` if ``token``)."""
    query = "?" + urllib.parse.urlencode({"token": token}) if token else ""
    with urllib.request.urlopen(site_root(base_url) + SERVED_PATH + query, timeout=30) as response:
        return json.loads(response.read())


def _client_pid(port: int, server_port: int) -> int | None:
    """PID (in its innermost PID namespace) of the local process whose TCP socket goes from ``port`` to
    ``server_port`` (Linux reuses a local port for connections to different places), if this process may see it."""
    inodes = set()
    for table in ("/proc/net/tcp", "/proc/net/tcp6"):
        try:
            rows = Path(table).read_text().splitlines()[1:]
        except OSError:
            continue
        for row in rows:
            fields = row.split()
            if (len(fields) > 9 and int(fields[1].rsplit(":", 1)[1], 16) == port
                    and int(fields[2].rsplit(":", 1)[1], 16) == server_port and fields[9] != "0"):
                inodes.add(f"socket:[{fields[9]}]")
    if not inodes:
        return None
    for proc in Path("/proc").iterdir():
        if not proc.name.isdigit():
            continue
        try:
            fds = os.listdir(proc / "fd")
        except OSError:
            continue
        for fd in fds:
            try:
                if os.readlink(proc / "fd" / fd) in inodes:
                    status = (proc / "status").read_text()
                    m = re.search(r"^NSpid:\s*(.*)$", status, re.M)
                    return int(m.group(1).split()[-1]) if m else int(proc.name)
            except (OSError, ValueError):
                continue
    return None


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
    """Serve only the manifest's files under Google's path layout (and the manifest and the record); 404 otherwise."""

    server: _Server

    def do_GET(self):  # http.server's naming
        self._send(body=True)

    def do_HEAD(self):
        self._send(body=False)

    def _send(self, body: bool) -> None:
        path, _, query = self.path.partition("?")
        if path == MANIFEST_PATH:
            manifest = (self.server.contents.get("manifest.json")
                        or (self.server.data_dir / "manifest.json").read_bytes())
            return self._reply(body, manifest, "application/json")
        if path == SERVED_PATH:
            token = urllib.parse.parse_qs(query).get("token", [None])[0]
            with self.server.lock:
                records = [r for r in self.server.log if token is None or r["token"] == token]
            return self._reply(body, json.dumps(records).encode(), "application/json")
        m = _FILE_PATH.match(path)
        token, name = (m.group(1), m.group(2)) if m else (None, None)
        if name is None or name not in self.server.files:
            self.send_error(404, f"no such n-gram file: {path}")
            return
        data = self.server.contents[name] if self.server.contents else (self.server.data_dir / name).read_bytes()
        host, port = self.client_address[:2]
        record = {"path": path, "file": name, "token": token, "client": f"{host}:{port}",
                  "pid": _client_pid(port, self.server.server_address[1]) if self.server.find_pids else None,
                  "time": time.time(), "method": self.command}
        with self.server.lock:
            self.server.log.append(record)
        self._reply(body, data, "application/octet-stream")

    def _reply(self, body: bool, data: bytes, content_type: str) -> None:
        try:
            self.send_response(200)
            self.send_header("Content-Type", content_type)
            self.send_header("Content-Length", str(len(data)))
            self.end_headers()
            if body:
                self.wfile.write(data)
        except (BrokenPipeError, ConnectionResetError):  # the client hung up early: its loss, not an error here
            self.close_connection = True

    def log_message(self, format, *args):  # quiet: notebooks and graders read stdout
        pass


class _Server(http.server.ThreadingHTTPServer):
    daemon_threads = True
    data_dir: Path
    files: frozenset
    contents: dict  # file name -> bytes, read once (a box's mirror: it may no longer read data_dir), or {}
    log: list  # one record per file served: path, file, token, client, pid, time, method
    lock: threading.Lock
    find_pids: bool


@dataclass
class Mirror:
    """A running mirror; stop it with :meth:`stop` or use it as a context manager."""

    server: _Server
    thread: threading.Thread | None = None

    @property
    def url(self) -> str:
        host, port = self.server.server_address[:2]
        return f"http://{host}:{port}{PATH_PREFIX}"  # type: ignore[str-bytes-safe]  # an INET server: host is a str

    def served(self, token: str | None = None) -> list[dict]:
        """The records of the files served so far (see the module's docstring)."""
        with self.server.lock:
            return [dict(r) for r in self.server.log if token is None or r["token"] == token]

    def stop(self) -> None:
        if self.thread is not None:
            self.server.shutdown()
            self.thread.join()
            self.thread = None
        self.server.server_close()

    def __enter__(self) -> Mirror:
        return self

    def __exit__(self, *exc) -> None:
        self.stop()


def _make_server(port: int, data_dir: Path, listener: socket.socket | None = None) -> _Server:
    if listener is None:
        server = _Server(("127.0.0.1", port), _Handler)
    else:  # a socket bound elsewhere (in a box's network namespace)
        server = _Server(listener.getsockname(), _Handler, bind_and_activate=False)
        server.socket.close()
        server.socket = listener
    server.data_dir = Path(data_dir)
    server.files = frozenset(file_names(data_dir))
    server.contents, server.log, server.lock, server.find_pids = {}, [], threading.Lock(), True
    return server


BOX_CONNECTIONS = 32  # connections a box's mirror serves at once; more wait in the listening socket's backlog
IDLE_SECONDS = 10  # a connection that sends nothing for this long is closed


class _BoxHandler(_Handler):
    timeout = IDLE_SECONDS


def box_mirror(listener: socket.socket, data_dir: str = str(DATA_DIR)):
    """A sealed box's own mirror (a :class:`procbox.box.Service`): it reads the files now, then serves them on
    ``listener`` (in the box's network) to that box alone, so ``/_served`` lists only the box's own downloads.

    At most :data:`BOX_CONNECTIONS` connections are served at once and an idle one is closed after
    :data:`IDLE_SECONDS`: a box that opens thousands only waits on its own mirror.  Returns the callable that
    serves (forever: the mirror ends with its box)."""
    server = _make_server(0, Path(data_dir), listener)
    server.RequestHandlerClass = _BoxHandler
    server.contents = {name: (server.data_dir / name).read_bytes() for name in [*server.files, "manifest.json"]}
    free = threading.BoundedSemaphore(BOX_CONNECTIONS)

    def finished(request, client_address):
        try:
            http.server.ThreadingHTTPServer.process_request_thread(server, request, client_address)
        finally:
            free.release()

    server.process_request_thread = finished  # type: ignore[method-assign]  # this server's own, on purpose

    def serve() -> None:
        while True:
            free.acquire()  # before accepting: the connections waiting hold no file of this process
            try:
                request, address = server.get_request()
            except OSError:
                free.release()
                time.sleep(0.05)
                continue
            server.process_request(request, address)

    return serve


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
