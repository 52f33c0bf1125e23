"""The catalog cache: a start from it gives what the rule files say, parses no YAML, and a cache that
is stale, damaged, foreign or unwritable is never used and never an error."""

import json
import marshal
import os
import shutil
import subprocess
import sys
import zlib
from pathlib import Path

import pytest

from conftest import ROOT, cli
from rmlint import catalog_cache, rules

DS = '{"train_batch_size": 8, "fp16": {"enabled": true}, "bf16": {"enabled": true}}'
RM101 = "ds.json:1:61: error RM101 `fp16.enabled` and `bf16.enabled` are both true  [fp16-and-bf16-enabled]"


@pytest.fixture
def catalog(tmp_path, monkeypatch):
    """A copy of the built-in rule files as the catalog, a ds.json to check, and a fresh catalog each run."""
    copy = tmp_path / "rules"
    shutil.copytree(rules.catalog_dir(), copy)
    monkeypatch.setattr(rules, "catalog_dir", lambda: copy)
    (tmp_path / "ds.json").write_text(DS)
    monkeypatch.chdir(tmp_path)
    rules.builtin.cache_clear()
    yield copy
    rules.builtin.cache_clear()


def check() -> list:
    rules.builtin.cache_clear()
    result = cli("check", "--format", "concise", "ds.json")
    return result.output.splitlines()


def cache_files(tmp_path) -> list:
    return sorted(p.name for p in (tmp_path / "cache").iterdir())


def reseal(path: Path, edit) -> None:
    """Change what a cache file holds and give it the checksum of its new content."""
    data = path.read_bytes()
    head = data.index(b"\n") + 1 + 4
    key, entries = marshal.loads(data[head:])
    edit(entries)
    payload = marshal.dumps((key, entries))
    path.write_bytes(data[:head - 4] + zlib.crc32(payload).to_bytes(4, "big") + payload)


def make_rm101_info(entries):
    entry, = (e for e in entries if e["file"].startswith("RM101-"))
    entry["fields"]["severity"] = "info"


def test_a_start_from_the_cache_holds_every_field_the_rule_files_give():
    from rmlint.rules import CACHED
    parsed = {r.id: r for r in rules.load_dir(rules.catalog_dir())}
    rules.builtin.cache_clear()
    rules.builtin()                      # builds the cache
    rules.builtin.cache_clear()
    warm = rules.builtin()               # from the cache
    rules.builtin.cache_clear()
    assert [r.source for r in warm] == sorted(rules.catalog_dir().glob("RM*.yaml"))
    for rule in warm:
        assert rule._rule is None        # nothing parsed: no YAML read
        expected = parsed[rule.id]
        assert {name: getattr(rule, name) for name in CACHED} == {name: getattr(expected, name) for name in CACHED}
        assert rule.needs == expected.needs and (rule.items is None) == (expected.items is None)
        assert rule.problem_kinds == tuple(expected.problems or ())
    examples, expected = warm[0].examples, parsed[warm[0].id].examples     # read from the file when asked
    assert (examples.bad, examples.good) == (expected.bad, expected.good) and examples.bad


def test_a_warm_start_on_a_script_or_a_deepspeed_config_imports_no_yaml_parser(tmp_path):
    program = ("import sys, runpy\nsys.argv = ['rmlint', 'check', sys.argv[1]]\n"
               "try:\n    runpy.run_module('rmlint', run_name='__main__')\nexcept SystemExit:\n    pass\n"
               "print(sorted(m for m in sys.modules if m.split('.')[0] in ('yaml', 'pydantic')))")
    for sample in ("sample_configs/seed-qlora-rm-zero3/train_rm_qlora.sh",
                   "sample_configs/deepspeed-llamafactory/ds_z3_config.json"):
        env = {**os.environ, "RMLINT_CACHE_DIR": str(tmp_path / Path(sample).name), "PYTHONPATH": str(ROOT)}
        runs = [subprocess.run([sys.executable, "-c", program, str(ROOT / sample)], capture_output=True, text=True,
                               env=env, cwd=tmp_path, timeout=60) for _ in range(2)]
        assert "yaml" in runs[0].stdout     # the first run (empty cache) parsed the rule files
        assert runs[1].stdout.splitlines()[-1] == "[]", sample
        assert runs[0].stdout == runs[1].stdout.replace("[]", runs[0].stdout.splitlines()[-1])


def test_an_edited_rule_file_rebuilds_the_cache(tmp_path, catalog):
    assert check()[0] == RM101
    path, = catalog.glob("RM101-*.yaml")
    text = path.read_text()
    path.write_text(text.replace("severity: error", "severity: info "))     # the same size
    assert check()[0] == RM101.replace("error RM101", "info RM101")
    assert len(cache_files(tmp_path)) == 2
    path.write_text(text)
    assert check()[0] == RM101


def test_a_rule_file_added_or_removed_rebuilds_the_cache(tmp_path, catalog):
    path, = catalog.glob("RM101-*.yaml")
    moved = path.rename(tmp_path / path.name)
    assert RM101 not in check()
    moved.rename(path)
    assert check()[0] == RM101


@pytest.mark.parametrize("damage", ["edited", "truncated", "empty", "garbage", "another key", "bad shape",
                                    "bad program"])
def test_a_damaged_cache_is_not_used_and_is_rebuilt(tmp_path, catalog, damage):
    expected = check()
    assert expected[0] == RM101
    cache, = (tmp_path / "cache").iterdir()
    data = cache.read_bytes()
    if damage == "edited":       # by hand: the checksum no longer matches
        cache.write_bytes(data.replace(b"are both true", b"are both TRUE"))
        assert cache.read_bytes() != data
    elif damage == "truncated":
        cache.write_bytes(data[:len(data) // 2])
    elif damage == "empty":
        cache.write_bytes(b"")
    elif damage == "garbage":
        cache.write_bytes(os.urandom(4096))
    elif damage == "another key":       # sealed, but by another rmlint release
        data = cache.read_bytes()
        head = data.index(b"\n") + 1 + 4
        key, entries = marshal.loads(data[head:])
        make_rm101_info(entries)
        payload = marshal.dumps((("0.0.1",) + key[1:], entries))
        cache.write_bytes(data[:head - 4] + zlib.crc32(payload).to_bytes(4, "big") + payload)
    elif damage == "bad shape":       # sealed, but a severity that is not text
        reseal(cache, lambda entries: entries[0]["fields"].update(severity=3))
    else:                             # sealed and well formed, but no CEL program: that rule's check fails, said
        reseal(cache, lambda entries: next(e for e in entries if e["file"].startswith("RM101-")).update(
            condition=b"not a program"))
        result = check()
        assert result[-1].startswith("note: rule RM101 on ds.json: Cannot parse serialized CEL expression.")
        return
    assert check() == expected
    assert marshal.loads(cache.read_bytes()[len(b"rmlint catalog 2\n") + 4:])[1][0]["fields"]["severity"] == "error"


def test_a_cache_file_others_may_write_or_of_another_user_is_not_read(tmp_path, catalog, monkeypatch):
    assert check()[0] == RM101
    cache, = (tmp_path / "cache").iterdir()
    reseal(cache, make_rm101_info)
    assert check()[0] == RM101.replace("error RM101", "info RM101")   # yours: trusted as your rule files are
    reseal(cache, make_rm101_info)
    cache.chmod(0o620)
    assert check()[0] == RM101
    assert (cache.stat().st_mode & 0o777) == 0o600          # rebuilt: private
    reseal(cache, make_rm101_info)
    monkeypatch.setattr(catalog_cache.os, "geteuid", lambda: os.getuid() + 1)
    assert check()[0] == RM101


@pytest.mark.parametrize("where", ["a file", "under a file", "a FIFO"])
def test_a_cache_folder_that_cannot_be_used_changes_nothing(tmp_path, catalog, monkeypatch, where):
    expected = check()
    blocker = tmp_path / "blocker"
    if where == "a FIFO":
        folder = tmp_path / "fifo-cache"
        folder.mkdir()
        os.mkfifo(folder / cache_files(tmp_path)[0])     # where the cache file would be: not opened, not waited on
    else:
        blocker.write_text("not a folder")
        folder = blocker if where == "a file" else blocker / "cache"
    monkeypatch.setenv("RMLINT_CACHE_DIR", str(folder))
    assert check() == expected
    assert check() == expected


def test_no_cache_when_turned_off(tmp_path, catalog, monkeypatch):
    monkeypatch.setenv("RMLINT_NO_CACHE", "1")
    assert check()[0] == RM101
    assert not (tmp_path / "cache").exists()


def test_concurrent_first_runs_agree_and_leave_one_cache_file(tmp_path):
    (tmp_path / "ds.json").write_text(DS)
    env = {**os.environ, "RMLINT_CACHE_DIR": str(tmp_path / "cache"), "PYTHONPATH": str(ROOT)}
    command = [sys.executable, "-m", "rmlint", "check", "--format", "json", "ds.json"]
    runs = [subprocess.Popen(command, cwd=tmp_path, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE)
            for _ in range(4)]
    outputs = [run.communicate(timeout=120) for run in runs]
    assert [run.returncode for run in runs] == [1] * 4
    assert all(out == outputs[0] for out in outputs) and outputs[0][1] == b""
    assert [f["rule"] for f in json.loads(outputs[0][0])["findings"]] == ["RM101"]
    assert len(cache_files(tmp_path)) == 1 and cache_files(tmp_path)[0].endswith(".bin")   # no temporary left
