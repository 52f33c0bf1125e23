"""Snapshot every DeepSpeed release from 0.10 on into one table, rmlint/data/deepspeed_releases.json.

Usage (torch==2.13.0 installed; runs on a CPU):
    python tools/snapshot_deepspeed_releases.py            # every release on the registry >= 0.10.0
    python tools/snapshot_deepspeed_releases.py 0.16.4 0.19.8 --out /tmp/two.json

Each release is DeepSpeed's own sdist from the package registry (`pip download --no-deps
--no-binary :all:`), unpacked into a cache folder (RMLINT_TOOLS_CACHE, else ~/.cache/rmlint-tools)
and put first on PYTHONPATH for tools/snapshot_deepspeed_schema.py, which reads its config models.
The snapshots are merged into one table: every key, type bound, enum and default with the
release ranges it holds for (rmlint/deepspeed/releases.py reads it back for any release).
"""

import argparse
import json
import os
import re
import subprocess
import sys
import tarfile
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
FIRST = (0, 10, 0)
CACHE = Path(os.environ.get("RMLINT_TOOLS_CACHE", Path.home() / ".cache" / "rmlint-tools")) / "deepspeed"


def key(version: str) -> tuple:
    return tuple(int(n) for n in re.findall(r"\d+", version)[:3])


def registry_versions() -> list:
    out = subprocess.run([sys.executable, "-m", "pip", "index", "versions", "deepspeed"], capture_output=True,
                         text=True, check=True).stdout
    listed = re.search(r"Available versions: (.*)", out).group(1).split(", ")
    return sorted((v for v in listed if re.fullmatch(r"\d+\.\d+\.\d+", v) and key(v) >= FIRST), key=key)


def unpacked(version: str, cache: Path = CACHE) -> Path:
    """The release's unpacked sdist (downloaded once)."""
    folder = cache / f"deepspeed-{version}"
    if (folder / "deepspeed" / "__init__.py").is_file():
        return folder
    cache.mkdir(parents=True, exist_ok=True)
    subprocess.run([sys.executable, "-m", "pip", "download", "--no-deps", "--no-binary", ":all:", "--quiet",
                    "-d", str(cache), f"deepspeed=={version}"], check=True)
    archive = cache / f"deepspeed-{version}.tar.gz"
    with tarfile.open(archive) as tar:
        tar.extractall(cache, filter="data")
    archive.unlink()
    return folder


def snapshot(version: str, cache: Path = CACHE) -> dict:
    tree = unpacked(version, cache)
    for accelerator in ("cuda", "cpu"):   # cpu needs IPEX before 0.14; cuda needs CUDA_HOME in 0.15.0
        env = dict(os.environ, PYTHONPATH=str(tree), DS_ACCELERATOR=accelerator)
        run = subprocess.run([sys.executable, str(ROOT / "tools" / "snapshot_deepspeed_schema.py")], env=env,
                             capture_output=True, text=True)
        if not run.returncode:
            break
    else:
        raise SystemExit(f"deepspeed {version}: {run.stderr.strip().splitlines()[-1]}")
    data = json.loads(run.stdout)
    if data["deepspeed_version"].strip() != version:
        raise SystemExit(f"deepspeed {version}: the snapshot read {data['deepspeed_version']} instead")
    return data


def flatten(fields: dict, prefix: str, out: dict):
    for name, spec in fields.items():
        entry = {k: v for k, v in spec.items() if k != "fields"}
        if "fields" in spec:
            entry["strict"] = True
            flatten(spec["fields"], f"{prefix}{name}.", out)
        out[prefix + name] = entry


def merge(snapshots: list) -> dict:
    """[(version, snapshot)] in release order -> one table; each entry is [[first, last, value], ...]
    over release indices, consecutive releases with the same value folded into one run."""
    versions = [v for v, _ in snapshots]
    per_release = []
    for _, snap in snapshots:
        strict = {}
        for block, fields in snap["strict"].items():
            flatten(fields, block + ".", strict)
        per_release.append({"blocks": {b: 1 for b in snap["strict"]}, "strict": strict,
                            "lenient": {k: 1 for k in snap["lenient"]}, "removed": snap["removed"]})
    table = {"generated_by": "tools/snapshot_deepspeed_releases.py", "releases": versions}
    for part in ("blocks", "strict", "lenient", "removed"):
        names = sorted({n for r in per_release for n in r[part]})
        table[part] = {name: runs([r[part].get(name) for r in per_release]) for name in names}
    return table


def runs(values: list) -> list:
    out = []
    for index, value in enumerate(values):
        if value is None:
            continue
        if out and out[-1][1] == index - 1 and out[-1][2] == value:
            out[-1][1] = index
        else:
            out.append([index, index, value])
    return out


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("versions", nargs="*", help="releases to snapshot (default: every release >= 0.10.0)")
    parser.add_argument("--out", default=str(ROOT / "rmlint" / "data" / "deepspeed_releases.json"))
    args = parser.parse_args()
    versions = sorted(args.versions, key=key) if args.versions else registry_versions()
    snapshots, skipped = [], []
    for version in versions:
        print(f"deepspeed {version}", file=sys.stderr)
        try:
            snapshots.append((version, snapshot(version)))
        except (subprocess.CalledProcessError, SystemExit) as err:   # e.g. an sdist pip cannot prepare today
            print(f"  skipped: {err}", file=sys.stderr)
            skipped.append(version)
    table = merge(snapshots)
    table["skipped"] = skipped     # a pin to one of these is read as the nearest older release
    text = json.dumps(table, sort_keys=True, separators=(",", ":"))
    text = text.replace('],"', '],\n"')    # one key per line: reviewable diffs
    Path(args.out).write_text(text + "\n")


if __name__ == "__main__":
    main()
