"""Snapshot the keys (and their defaults) of verl's Hydra configs into rmlint/data/verl_config.json.

Usage: python tools/snapshot_verl_config.py VERL_CHECKOUT [REV ...] > rmlint/data/verl_config.json

Each REV (tag or commit of a verl git checkout or bare repository; default: the releases below and HEAD)
has its `verl/trainer/config/` folder composed with Hydra itself (hydra-core's compose API, the
`@hydra.main(config_path="config", config_name=...)` of each entrypoint), so the defaults lists, packages
(`actor@actor_rollout_ref.actor`) and `_self_` order are applied as verl's launch would. The composed
config is flattened to dotted keys with their default values (interpolations such as `${oc.select:...}`
kept as written) and the releases that have them (indexes into `releases`); `groups` are the config groups a command line may select (`critic=megatron_critic`).
"""

import json
import subprocess
import sys
import tarfile
import tempfile
from io import BytesIO
from pathlib import Path

RELEASES = ["v0.2", "v0.3.0.post1", "v0.4.0", "v0.4.1", "v0.5.0", "v0.6.0", "v0.6.1", "v0.7.0", "HEAD"]
# main between releases, where verl's own examples (the upstream fixtures) were written with keys no release has
ERAS = {"52485ff3": 0, "a8a32e92": 2, "9bc2e8e2": 3, "3d297f72": 3, "b5c19ff7": 6, "7e8ad9f1": 8}   # commit: index of the release it precedes
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
    """The releases with each main commit of ERAS before the release at its index (oldest first)."""
    revs = []
    for index, release in enumerate(releases):
        revs += [commit for commit, before in ERAS.items() if before == index] + [release]
    return revs


def main() -> int:
    checkout, revs = sys.argv[1], sys.argv[2:] or with_eras(RELEASES)
    git = ["git", "-C", checkout]
    result = {"generated_by": "tools/snapshot_verl_config.py", "releases": [], "configs": {}}
    for rev in revs:
        commit = subprocess.run(git + ["rev-parse", rev], capture_output=True, text=True, check=True).stdout.strip()
        label = "main@" + commit[:10] if rev == "HEAD" or rev in ERAS else rev
        result["releases"].append({"name": label, "commit": commit})
        archive = subprocess.run(git + ["archive", commit, "verl/trainer/config"], capture_output=True, check=True).stdout
        with tempfile.TemporaryDirectory() as temp:
            tarfile.open(fileobj=BytesIO(archive)).extractall(temp, filter="data")
            folder = Path(temp) / "verl/trainer/config"
            for name in CONFIGS:
                if not (folder / f"{name}.yaml").is_file():
                    continue
                flat, groups = compose(folder, name)
                entry = result["configs"].setdefault(name, {"keys": {}, "groups": {}})
                for key, default in flat.items():
                    entry["keys"].setdefault(key, {"default": default, "in": []})
                    entry["keys"][key]["default"] = default       # the newest release's default wins
                    entry["keys"][key]["in"].append(len(result["releases"]) - 1)
                for group in groups:
                    entry["groups"].setdefault(group, []).append(len(result["releases"]) - 1)
    json.dump(result, sys.stdout, indent=None, sort_keys=True, separators=(",", ":"))
    print()
    return 0


if __name__ == "__main__":
    sys.exit(main())
