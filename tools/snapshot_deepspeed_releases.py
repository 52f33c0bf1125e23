"""Snapshot every DeepSpeed release from 0.10 on into one table, rmlint/data/deepspeed_releases.json.

Usage (torch==2.13.0 installed; runs on a CPU):
    python tools/snapshot_deepspeed_releases.py            # every release on the registry >= 0.10.0
    python tools/snapshot_deepspeed_releases.py 0.16.4 0.19.8 --out /tmp/two.json

Each release is DeepSpeed's own sdist from the package registry (`pip download --no-deps
--no-binary :all:`), unpacked into a cache folder (RMLINT_TOOLS_CACHE, else ~/.cache/rmlint-tools)
and put first on PYTHONPATH for tools/snapshot_deepspeed_schema.py, which reads its config models.
The snapshots are merged into one table: every key, type bound, enum and default with the
release ranges it holds for (rmlint/frameworks/deepspeed/releases.py reads it back for any release).
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
    command = ["-m", "pip", "download", "--no-deps", "--no-binary", ":all:", "--quiet", "-d", str(cache),
               f"deepspeed=={version}"]
    try:
        subprocess.run([sys.executable, *command], check=True)
    except subprocess.CalledProcessError:
        # pip prepares an sdist's metadata by running its setup.py, which imports torch (0.13.0: not in pip's
        # isolated build env) and, up to 0.11.x, DeepSpeed's pydantic-v1 models (0.11.0): retry with this
        # environment's packages, or RMLINT_TOOLS_PIP_PYTHON's (an interpreter with torch and pydantic<2)
        python = os.environ.get("RMLINT_TOOLS_PIP_PYTHON", sys.executable)
        subprocess.run([python, *command, "--no-build-isolation"], check=True)
    archive = cache / f"deepspeed-{version}.tar.gz"
    with tarfile.open(archive) as tar:
        tar.extractall(cache, filter="data")
    archive.unlink()
    return folder


def snapshot(version: str, cache: Path = CACHE) -> dict:
    tree = unpacked(version, cache)
    # cpu needs IPEX before 0.14; cuda needs CUDA_HOME in 0.15.0 and recurses in get_accelerator in 0.12.4-0.12.6
    # (its DS_ACCELERATOR check calls itself), where DeepSpeed's own detection (no DS_ACCELERATOR) works
    for accelerator in ("cuda", "cpu", None):
        env = dict(os.environ, PYTHONPATH=str(tree))
        env.pop("DS_ACCELERATOR", None)
        if accelerator:
            env["DS_ACCELERATOR"] = accelerator
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


PARTS = ("blocks", "strict", "lenient", "removed")


def release_view(snap: dict) -> dict:
    strict = {}
    for block, fields in snap["strict"].items():
        flatten(fields, block + ".", strict)
    return {"blocks": {b: 1 for b in snap["strict"]}, "strict": strict,
            "lenient": {k: 1 for k in snap["lenient"]}, "removed": snap["removed"]}


def views_of(table: dict) -> list:
    """A merged table back into [(version, view)] (the inverse of merge_views)."""
    views = [(version, {part: {} for part in PARTS}) for version in table["releases"]]
    for part in PARTS:
        for name, found in table[part].items():
            for first, last, value in found:
                for index in range(first, last + 1):
                    views[index][1][part][name] = value
    return views


def merge(snapshots: list) -> dict:
    """[(version, snapshot)] in release order -> one table; each entry is [[first, last, value], ...]
    over release indices, consecutive releases with the same value folded into one run."""
    return merge_views([(version, release_view(snap)) for version, snap in snapshots])


def merge_views(views: list) -> dict:
    versions = [v for v, _ in views]
    per_release = [view for _, view in views]
    table = {"generated_by": "tools/snapshot_deepspeed_releases.py", "releases": versions}
    for part in PARTS:
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
    parser.add_argument("--add", action="store_true",
                        help="snapshot only the releases named (default: those the table in --out skipped or lacks) "
                             "and merge them into it, keeping its other releases as they are")
    args = parser.parse_args()
    kept = views_of(json.loads(Path(args.out).read_text())) if args.add else []
    if args.add and not args.versions:
        known = {version for version, _ in kept}
        versions = [v for v in registry_versions() if v not in known]
    else:
        versions = sorted(args.versions, key=key) if args.versions else registry_versions()
    views, skipped = [], []
    for version in versions:
        print(f"deepspeed {version}", file=sys.stderr)
        try:
            views.append((version, release_view(snapshot(version))))
        except (subprocess.CalledProcessError, SystemExit) as err:   # e.g. an sdist pip cannot prepare today
            print(f"  skipped: {err}", file=sys.stderr)
            skipped.append(version)
    added = {version for version, _ in views}
    views = sorted([view for view in kept if view[0] not in added] + views, key=lambda view: key(view[0]))
    table = merge_views(views)
    table["skipped"] = skipped     # a pin to one of these is read as the nearest older release
    text = json.dumps(table, sort_keys=True, separators=(",", ":"))
    text = text.replace('],"', '],\n"')    # one key per line: reviewable diffs
    Path(args.out).write_text(text + "\n")


if __name__ == "__main__":
    main()
