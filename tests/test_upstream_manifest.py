"""tests/fixtures/upstream/MANIFEST.tsv and the files under tests/fixtures/upstream agree both ways: every
fixture file has exactly one row (repo, 40-hex commit, upstream path, fixture) and every row's fixture is
on disk. Each corpus test reads its own rows; this one covers the folders no corpus test walks (review-a:
axolotl/falcon-h1-1b-qlora-cp.yaml had no row)."""

import re
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
UPSTREAM = ROOT / "tests" / "fixtures" / "upstream"


def _rows() -> list:
    return [line.split("\t") for line in (UPSTREAM / "MANIFEST.tsv").read_text().splitlines()[1:] if line.strip()]


def test_every_row_names_a_repo_a_commit_a_path_and_a_fixture_on_disk():
    bad = [row for row in _rows() if len(row) != 4 or "/" not in row[0] or not re.fullmatch(r"[0-9a-f]{40}", row[1])
           or not row[2] or not (ROOT / row[3]).is_file()]
    assert bad == []


def test_every_fixture_file_has_one_row():
    listed = [row[3] for row in _rows()]
    on_disk = sorted(str(p.relative_to(ROOT)) for p in UPSTREAM.rglob("*") if p.is_file() and p.name != "MANIFEST.tsv")
    assert sorted(set(listed)) == sorted(listed)
    assert [f for f in on_disk if f not in set(listed)] == []
