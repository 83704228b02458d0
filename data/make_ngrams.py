"""Generate the course's n-gram sample files, deterministically.

The files imitate Google Books Ngram v2 (2012-07-01): gzipped, one line per
n-gram and year, ``ngram<TAB>year<TAB>match_count<TAB>volume_count``, named as
Google names them.  Sizes differ by orders of magnitude, as the real files do,
so that load balancing matters when engines share them out.

Run ``python data/make_ngrams.py`` to (re)write ``data/ngrams/`` and its
``manifest.json``; the same inputs always give byte-identical files.
"""

from __future__ import annotations

import gzip
import hashlib
import io
import json
import random
import sys
from pathlib import Path

HERE = Path(__file__).resolve().parent
OUT = HERE / "ngrams"

#: file suffix -> number of lines.  The first four are the seed tutorial's files.
SIZES = {
    "zk": 422,
    "zl": 4810,
    "zm": 1951,
    "zn": 150_000,
    "zo": 23_417,
    "zp": 786,
    "zq": 61_230,
    "zr": 9_406,
}

WORDS = """
the of and to in a is that for it as was with be by on not he this are or his
from at which but have an they you were her she there been one all we their
has would when if so no will more out can who what up some into them time only
about other could then than its two first new like may these over any very
after most such my made upon how did where much your before through well down
should because each just those people how too little state good very make
world still own see men work long get here between both life being under never
day same another know while last might us great old year off come since
against go came right used take three states himself few house use during
without again place american around however home small found mrs thought went
say part once general high upon school every don does got united left number
course war until always away something fact though water less public put
think almost hand enough far took head yet government system better set told
nothing night end why called didn eyes find going look asked later knew point
next program city business give group toward young days let room president
side social given present several order national possible rather second face
per among form important often things looked early white case john become
large big need four within felt along children saw best church ever least
power development light thing seemed family interest want members mind
country area others done turned although open god service certain kind problem
began different door thus help sense means whole matter perhaps itself york
times law human line above name example action company hands local show whether
five history gave today either act feet across taken past quite anything seen
having death experience body word half really week field car words already
themselves information tell together college shall money period held keep
sure probably free seems real behind cannot miss political air question making
office brought whose special heard major problems ago became federal moment
study available known result street economic boy position reason change south
board individual job areas society west close turn love community true court
force full seem wife age future voice center woman control common necessary
policy following front sometimes six girl clear further land judge able feel
mother music education provide particular party military child run top table
""".split()  # noqa: SIM905 - a word list reads best as text


def _line(rng: random.Random) -> str:
    ngram = " ".join(rng.choice(WORDS) for _ in range(5))
    year = rng.randint(1800, 2008)
    volumes = rng.randint(1, 40)
    matches = volumes + int(rng.paretovariate(1.5)) - 1
    return f"{ngram}\t{year}\t{matches}\t{volumes}\n"


def make_file(suffix: str, lines: int) -> bytes:
    """Return the gzipped bytes of one sample file (deterministic)."""
    rng = random.Random(f"ngrams-{suffix}")
    text = "".join(_line(rng) for _ in range(lines)).encode("utf-8")
    buffer = io.BytesIO()
    with gzip.GzipFile(filename="", mode="wb", fileobj=buffer, mtime=0) as gz:
        gz.write(text)
    return buffer.getvalue()


def file_name(suffix: str) -> str:
    return f"googlebooks-eng-all-5gram-20120701-{suffix}.gz"


def main(out: Path = OUT) -> list[dict]:
    out.mkdir(parents=True, exist_ok=True)
    manifest = []
    for suffix, lines in SIZES.items():
        data = make_file(suffix, lines)
        name = file_name(suffix)
        (out / name).write_bytes(data)
        manifest.append(
            {"file": name, "bytes": len(data), "sha256": hashlib.sha256(data).hexdigest(), "lines": lines}
        )
    (out / "manifest.json").write_text(json.dumps({"files": manifest}, indent=2) + "\n")
    return manifest


if __name__ == "__main__":
    target = Path(sys.argv[1]) if len(sys.argv) > 1 else OUT
    for entry in main(target):
        print(f"{entry['file']}  {entry['lines']:>7} lines  {entry['bytes']:>8} bytes")
