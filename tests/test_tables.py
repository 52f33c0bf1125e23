"""Which releases each table in rmlint/data covers, and that none is older than the releases the
`test` extra pins (the suite checks rmlint against those: a table behind them judges a newer library
by an older one's keys)."""

import re
import subprocess
import sys
import tomllib

from conftest import ROOT

sys.path.insert(0, str(ROOT / "tools"))
from update_tables import coverage  # noqa: E402


def key(version: str) -> tuple:
    return tuple(int(n) for n in re.findall(r"\d+", version)[:3])


def pinned_in_test_extra() -> dict:
    extra = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]["optional-dependencies"]["test"]
    return dict(re.match(r"([A-Za-z0-9_.-]+)==(.+)", p).groups() for p in extra if "==" in p)


def test_every_table_says_what_it_covers():
    covered = coverage()
    assert set(covered) == {p.name for p in (ROOT / "rmlint" / "data").glob("*.json")}
    for name, entry in covered.items():
        assert entry.get("releases") or entry.get("commit"), name
    print("\n".join(f"{name}: {entry}" for name, entry in covered.items()))


def test_no_table_is_older_than_the_test_pins():
    pins, covered = pinned_in_test_extra(), coverage()
    for name in ("deepspeed_releases.json", "deepspeed_schema.json"):
        assert key(covered[name]["releases"][1]) >= key(pins["deepspeed"]), (name, covered[name])
    for name in ("llamafactory_args.json", "trl_args.json"):
        assert key(covered[name]["transformers"]) >= key(pins["transformers"]), (name, covered[name])


def test_the_deepspeed_table_has_every_release_from_0_10():
    covered = coverage()["deepspeed_releases.json"]
    assert covered["releases"][0] == "0.10.0"
    minors = {key(v)[:2] for v in __import__("rmlint.frameworks.deepspeed.releases", fromlist=["x"]).releases().versions}
    newest = key(covered["releases"][1])
    assert minors == {(0, m) for m in range(10, newest[1] + 1)}   # no minor release line missing


def test_update_tables_dry_run_names_every_step():
    done = subprocess.run([sys.executable, str(ROOT / "tools" / "update_tables.py"), "--dry-run", "--repos",
                           "/nonexistent/repos"], capture_output=True, text=True, timeout=60)
    steps = done.stderr.splitlines()
    assert done.returncode == 0, done.stderr
    assert [s.split()[3].rsplit("/", 1)[-1] for s in steps if "tools/" in s] == [
        "extract_openrlhf_flags.py", "snapshot_deepspeed_releases.py", "extract_trainer_args.py",
        "extract_trainer_args.py", "extract_transformers_args.py", "extract_trainer_args.py", "extract_trainer_args.py",
        "snapshot_verl_config.py", "extract_deepspeed_chat_flags.py"]
    assert sum("> rmlint/data/" in s for s in steps) == 8
