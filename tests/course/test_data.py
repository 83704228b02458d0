import hashlib
import os
import shutil
import subprocess
import sys
import urllib.error
import urllib.request
from pathlib import Path

import pytest

from course import data

ROOT = Path(__file__).resolve().parents[2]


def test_committed_files_match_their_manifest():
    assert data.verify() == []
    entries = data.load_manifest()
    assert len(entries) >= 4
    lines = [e["lines"] for e in entries]
    assert max(lines) / min(lines) > 100, "sizes should vary a lot, so load balancing matters"
    assert sum(e["bytes"] for e in entries) < 10 * 1024 * 1024


def test_generator_is_deterministic(tmp_path):
    subprocess.run([sys.executable, str(ROOT / "data" / "make_ngrams.py"), str(tmp_path)], check=True,
                   capture_output=True)
    assert data.load_manifest(tmp_path) == data.load_manifest()


def test_files_are_in_google_ngram_v2_format():
    import gzip

    entry = data.load_manifest()[0]
    assert entry["file"].startswith("googlebooks-eng-all-5gram-20120701-") and entry["file"].endswith(".gz")
    with gzip.open(data.DATA_DIR / entry["file"], "rt") as f:
        rows = [line.rstrip("\n").split("\t") for line in f]
    assert len(rows) == entry["lines"]
    for ngram, year, matches, volumes in rows[:50]:
        assert len(ngram.split(" ")) == 5
        assert 1500 < int(year) <= 2012 and int(matches) >= int(volumes) >= 1


def test_mirror_serves_files_under_googles_layout(mirror):
    assert mirror.url.startswith("http://127.0.0.1:") and mirror.url.endswith("/books/ngrams/books/")
    entry = data.load_manifest()[1]
    with urllib.request.urlopen(mirror.url + entry["file"], timeout=10) as response:
        body = response.read()
    assert hashlib.sha256(body).hexdigest() == entry["sha256"]


@pytest.mark.parametrize("path", ["books/ngrams/books/nope.gz", "books/ngrams/books/manifest.json",
                                  "books/ngrams/books/../../../etc/passwd",
                                  "other/googlebooks-eng-all-5gram-20120701-zk.gz"])
def test_mirror_answers_404_for_anything_else(mirror, path):
    base = mirror.url.split("/books/")[0]
    with pytest.raises(urllib.error.HTTPError) as e:
        urllib.request.urlopen(f"{base}/{path}", timeout=10)
    e.value.close()
    assert e.value.code == 404


def test_mirror_url_prefers_the_environment(monkeypatch):
    monkeypatch.setenv(data.ENV_VAR, "http://example.invalid/books/ngrams/books")
    assert data.mirror_url() == "http://example.invalid/books/ngrams/books/"


def test_verify_names_a_corrupted_file(tmp_path):
    copy = tmp_path / "ngrams"
    shutil.copytree(data.DATA_DIR, copy)
    victim = copy / data.load_manifest()[2]["file"]
    raw = bytearray(victim.read_bytes())
    raw[len(raw) // 2] ^= 0xFF
    victim.write_bytes(bytes(raw))
    (copy / data.load_manifest()[3]["file"]).unlink()
    problems = data.verify(copy)
    assert len(problems) == 2
    assert victim.name in problems[0] and "sha256" in problems[0]
    assert "missing" in problems[1]


def test_cli_verify(tmp_path):
    ok = subprocess.run([sys.executable, "-m", "course", "data", "verify"], capture_output=True, text=True)
    assert ok.returncode == 0, ok.stderr
    copy = tmp_path / "ngrams"
    shutil.copytree(data.DATA_DIR, copy)
    (copy / data.load_manifest()[0]["file"]).write_bytes(b"not gzip")
    bad = subprocess.run([sys.executable, "-m", "course", "data", "verify"], capture_output=True, text=True,
                         env={**os.environ, "COURSE_DATA_DIR": str(copy)})
    assert bad.returncode == 1
    assert data.load_manifest()[0]["file"] in bad.stderr


def test_mirror_records_what_it_served_per_token_with_the_clients_pid(mirror):
    entry = data.load_manifest()[2]
    base = data.site_root(mirror.url) + "/_t/rec-test" + data.PATH_PREFIX
    with urllib.request.urlopen(base + entry["file"], timeout=10) as response:
        assert hashlib.sha256(response.read()).hexdigest() == entry["sha256"], "a token URL serves the same file"
    urllib.request.urlopen(mirror.url + entry["file"], timeout=10).close()  # no token: not in the token's record
    record = data.served(mirror.url, "rec-test")
    assert [(r["file"], r["token"], r["method"]) for r in record] == [(entry["file"], "rec-test", "GET")]
    assert record[0]["path"] == "/_t/rec-test" + data.PATH_PREFIX + entry["file"]
    assert record[0]["client"].startswith("127.0.0.1:")
    assert record[0]["pid"] == os.getpid(), "the mirror tells which process downloaded"
    assert mirror.served("rec-test") == record
    assert len(data.served(mirror.url)) >= 2, "without a token: everything served"
    assert data.served(mirror.url, "never-used") == []


def test_mirror_serves_its_manifest(mirror):
    with urllib.request.urlopen(data.site_root(mirror.url) + data.MANIFEST_PATH, timeout=10) as response:
        import json

        assert json.loads(response.read())["files"] == data.load_manifest()


def test_load_manifest_falls_back_to_the_mirror_when_the_data_dir_is_unreadable(mirror, monkeypatch, tmp_path):
    want = data.load_manifest()
    monkeypatch.setattr(data, "DATA_DIR", tmp_path / "hidden")  # what graded code sees: no data directory
    monkeypatch.delenv(data.ENV_VAR, raising=False)
    with pytest.raises(FileNotFoundError):
        data.load_manifest(tmp_path / "hidden")  # no mirror to ask
    monkeypatch.setenv(data.ENV_VAR, mirror.url)
    assert data.load_manifest(tmp_path / "hidden") == want
    assert data.file_names(tmp_path / "hidden") == [e["file"] for e in want]
    with pytest.raises(FileNotFoundError):
        data.load_manifest(tmp_path / "elsewhere")  # an explicit other directory is never replaced by the mirror's


def test_private_dirs_are_the_course_data():
    assert (ROOT / "data").resolve() in data.private_dirs()
    assert data.DATA_DIR.resolve() in data.private_dirs()
