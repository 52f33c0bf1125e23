"""Snapshot the keys (and their defaults) of verl's Hydra configs into rmlint/data/verl_config.json.

Usage: python tools/snapshot_verl_config.py VERL_CHECKOUT [REV ...] > rmlint/data/verl_config.json

Each REV (tag or commit of a verl git checkout or bare repository; default: every release on the registry,
the main commits of ERAS and HEAD) has its `verl/trainer/config/` folder composed with Hydra itself
(hydra-core's compose API, the `@hydra.main(config_path="config", config_name=...)` of each entrypoint), so
the defaults lists, packages (`actor@actor_rollout_ref.actor`) and `_self_` order are applied as verl's launch
would. A release whose tag the checkout lacks is read from its wheel on the registry (`pip download verl==X
--no-deps`; the wheels ship the same config folder). The composed config is flattened to dotted keys with
their default values (interpolations such as `${oc.select:...}` kept as written) and the releases that have
them (indexes into `releases`, written as ranges "0-6,9"); the keys are stored as a tree (`{"actor_rollout_ref":
{"actor": {"clip_ratio": {"@": [0.2, "0-22"]}}}}`, "@" holding a key's own default and releases, then the older defaults
with their releases when the default changed: `[null, "0-22", [[false, "0-16"]]]`) to keep the table small; `groups` are the config groups a command line may select (`critic=megatron_critic`). A release whose `_generated_<config>.yaml` (verl's own dump of the composed
config, from 0.5) lists other keys than the composition is reported on stderr.
"""

import json
import subprocess
import sys
import tarfile
import tempfile
import zipfile
from io import BytesIO
from pathlib import Path

# every release on the registry (`pip index versions verl`), oldest first
RELEASES = ["v0.1", "v0.2", "v0.2.0.post1", "v0.2.0.post2", "v0.3.0.post0", "v0.3.0.post1", "v0.4.0", "v0.4.1",
            "v0.5.0", "v0.6.0", "v0.6.1", "v0.7.0", "v0.7.1", "v0.8.0", "v0.9.0", "v0.9.1"]
# main between releases, where verl's own examples (the upstream fixtures) were written with keys no release has
ERAS = {"52485ff3": "v0.2", "a8a32e92": "v0.4.0", "9bc2e8e2": "v0.4.1", "3d297f72": "v0.4.1", "b5c19ff7": "v0.6.1",
        "7e8ad9f1": "v0.7.1", "b178a3cd": "v0.7.1"}   # commit: the release it precedes
CONFIGS = ["ppo_trainer", "ppo_megatron_trainer", "generation", "sft_trainer", "sft_trainer_engine", "evaluation"]


def compose(folder: Path, name: str) -> tuple:
    sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
    from rmlint.frameworks.verl.config import flatten
    from hydra import compose as hydra_compose, initialize_config_dir
    from hydra.core.global_hydra import GlobalHydra
    from omegaconf import OmegaConf
    GlobalHydra.instance().clear()
    with initialize_config_dir(config_dir=str(folder), version_base=None):
        config = hydra_compose(config_name=name)
    flat = {}
    flatten(OmegaConf.to_container(config, resolve=False), "", flat)
    groups = sorted(p.name for p in folder.iterdir() if p.is_dir() and not p.name.startswith("_"))
    return flat, groups


def with_eras(releases: list) -> list:
    """The releases with each main commit of ERAS before the release it precedes (oldest first)."""
    revs = []
    for release in releases:
        revs += [commit for commit, before in ERAS.items() if before == release] + [release]
    return revs + ["HEAD"]


def _git(checkout: str, *args, **options):
    return subprocess.run(["git", "-C", checkout, *args], capture_output=True, **options)


def extract(checkout: str, rev: str, temp: str) -> dict | None:
    """Unpack one rev's config folder into `temp`: its release entry, or None when HEAD is already in."""
    found = _git(checkout, "rev-parse", "--verify", "--quiet", rev + "^{commit}", text=True)
    if found.returncode == 0:
        commit = found.stdout.strip()
        archive = _git(checkout, "archive", commit, "verl/trainer/config", check=True).stdout
        tarfile.open(fileobj=BytesIO(archive)).extractall(temp, filter="data")
        label = rev if rev.startswith("v") else "main@" + commit[:10]
        return {"name": label, "commit": commit}
    if not rev.startswith("v"):
        raise SystemExit(f"{rev}: not in {checkout}")
    subprocess.run([sys.executable, "-m", "pip", "download", "--no-deps", "--quiet", "-d", temp,
                    f"verl=={rev[1:]}"], check=True)
    wheel = next(Path(temp).glob(f"verl-{rev[1:]}-*.whl"))
    with zipfile.ZipFile(wheel) as archive:
        archive.extractall(temp, [n for n in archive.namelist() if n.startswith("verl/trainer/config/")])
    return {"name": rev, "wheel": wheel.name}


def _generated(folder: Path, name: str, flat: dict, label: str) -> None:
    dump = folder / f"_generated_{name}.yaml"
    if not dump.is_file():
        return
    sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
    import yaml
    from rmlint.frameworks.verl.config import flatten
    shipped = {}
    flatten(yaml.safe_load(dump.read_text()), "", shipped)
    if set(shipped) != set(flat):
        print(f"{label} {name}: _generated lists {len(set(shipped) - set(flat))} keys more, "
              f"{len(set(flat) - set(shipped))} fewer than the composition", file=sys.stderr)


def ranges(indexes: list) -> str:
    """[0, 1, 2, 5] -> "0-2,5" (read back by rmlint.frameworks.verl.config.indexes)."""
    runs = []
    for index in indexes:
        if runs and index == runs[-1][1] + 1:
            runs[-1][1] = index
        else:
            runs.append([index, index])
    return ",".join(f"{a}-{b}" if b > a else str(a) for a, b in runs)


def nested(flat: dict) -> dict:
    """Dotted keys as a tree; "@" holds a key's own [default, releases] (read back by config.keys)."""
    tree = {}
    for key, found in flat.items():
        node = tree
        for part in key.split("."):
            node = node.setdefault(part, {})
        older = {}          # the releases where the default was another value, by that value
        for index, default in zip(found["in"], found["by"]):
            if default != found["default"]:
                older.setdefault(json.dumps(default, sort_keys=True), []).append(index)
        node["@"] = [found["default"], ranges(found["in"])] + \
            ([[[json.loads(value), ranges(indexes)] for value, indexes in older.items()]] if older else [])
    return tree


def main() -> int:
    checkout, revs = sys.argv[1], sys.argv[2:] or with_eras(RELEASES)
    result = {"generated_by": "tools/snapshot_verl_config.py", "releases": [], "configs": {}}
    for rev in revs:
        with tempfile.TemporaryDirectory() as temp:
            release = extract(checkout, rev, temp)
            if rev == "HEAD" and release["commit"] in [r.get("commit") for r in result["releases"]]:
                continue
            result["releases"].append(release)
            folder = Path(temp) / "verl/trainer/config"
            for name in CONFIGS:
                if not (folder / f"{name}.yaml").is_file():
                    continue
                flat, groups = compose(folder, name)
                _generated(folder, name, flat, release["name"])
                entry = result["configs"].setdefault(name, {"keys": {}, "groups": {}})
                for key, default in flat.items():
                    entry["keys"].setdefault(key, {"default": default, "in": [], "by": []})
                    entry["keys"][key]["default"] = default       # the newest release's default wins
                    entry["keys"][key]["in"].append(len(result["releases"]) - 1)
                    entry["keys"][key]["by"].append(default)
                for group in groups:
                    entry["groups"].setdefault(group, []).append(len(result["releases"]) - 1)
    for entry in result["configs"].values():
        entry["keys"] = nested(entry["keys"])
        entry["groups"] = {group: ranges(found) for group, found in entry["groups"].items()}
    json.dump(result, sys.stdout, indent=None, sort_keys=True, separators=(",", ":"))
    print()
    return 0


if __name__ == "__main__":
    sys.exit(main())
