"""Regenerate every table in rmlint/data from the frameworks' newest releases, with one command.

Usage:
    python tools/update_tables.py                      # everything
    python tools/update_tables.py --only deepspeed     # openrlhf, deepspeed, llamafactory, trl, axolotl
    python tools/update_tables.py --dry-run            # print the steps, run nothing
    python tools/update_tables.py --coverage           # which releases each table covers

- openrlhf_flags.json: tools/extract_openrlhf_flags.py over a clone of OpenRLHF (every release tag);
- deepspeed_releases.json: tools/snapshot_deepspeed_releases.py (every release >= 0.10 on the registry),
  deepspeed_schema.json: tools/snapshot_deepspeed_schema.py with the newest of them;
- llamafactory/trl/axolotl_args.json: tools/extract_trainer_args.py over a clone of each default branch
  (TrainingArguments from the installed transformers: upgrade it first to bring those keys current);
  llamafactory_history.json (its keys at every release, --releases) and transformers_args.json
  (tools/extract_transformers_args.py: TrainingArguments keys of every transformers minor, from the wheels,
  and the minors each LLaMA-Factory release allows);
- verl_config.json: tools/snapshot_verl_config.py over a clone of verl (its releases and HEAD, composed with
  Hydra); deepspeed_chat_flags.json: tools/extract_deepspeed_chat_flags.py over a clone of DeepSpeedExamples
  (every version of each step's parse_args).
Clones are kept under --repos (default ~/.cache/rmlint-tools/repos) and fetched again on the next run.
A table is replaced (atomically) only when its tool succeeded.
"""

import argparse
import json
import os
import subprocess
import sys
import tempfile
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
DATA = ROOT / "rmlint" / "data"
TOOLS = ROOT / "tools"
REPOSITORIES = {"openrlhf": "https://github.com/OpenRLHF/OpenRLHF",
                "llamafactory": "https://github.com/hiyouga/LLaMA-Factory",
                "trl": "https://github.com/huggingface/trl",
                "axolotl": "https://github.com/axolotl-ai-cloud/axolotl",
                "verl": "https://github.com/volcengine/verl",
                "deepspeed_chat": "https://github.com/deepspeedai/DeepSpeedExamples"}
TABLES = ("openrlhf", "deepspeed", "llamafactory", "trl", "axolotl", "verl", "deepspeed_chat")
SNAPSHOTS = {"verl": ("snapshot_verl_config.py", "verl_config.json"),          # a clone in, a table out
             "deepspeed_chat": ("extract_deepspeed_chat_flags.py", "deepspeed_chat_flags.json")}


def clone(name: str, repos: Path, dry: bool) -> Path:
    target = repos / f"{name}.git"
    if target.exists():
        step(["git", "-C", str(target), "fetch", "--tags", "--force", "origin", "+refs/heads/*:refs/heads/*"], dry)
    else:
        step(["git", "clone", "--bare", "--filter=blob:none", REPOSITORIES[name], str(target)], dry)
    return target


def step(command: list, dry: bool, out: Path | None = None, env: dict | None = None):
    shown = " ".join(command) + (f" > {out.relative_to(ROOT)}" if out else "")
    print(("would run: " if dry else "running: ") + shown, file=sys.stderr)
    if dry:
        return
    if out is None:
        subprocess.run(command, check=True, env=env)
        return
    with tempfile.NamedTemporaryFile("w", dir=out.parent, delete=False, suffix=".tmp") as handle:
        try:
            subprocess.run(command, check=True, stdout=handle, env=env)
        except BaseException:
            os.unlink(handle.name)
            raise
    os.replace(handle.name, out)


def update(name: str, repos: Path, dry: bool):
    python = sys.executable
    if name == "openrlhf":
        repo = clone(name, repos, dry)
        step([python, str(TOOLS / "extract_openrlhf_flags.py"), str(repo)], dry, DATA / "openrlhf_flags.json")
    elif name == "deepspeed":
        step([python, str(TOOLS / "snapshot_deepspeed_releases.py")], dry)
        if not dry:
            sys.path.insert(0, str(TOOLS))
            from snapshot_deepspeed_releases import unpacked
            newest = json.loads((DATA / "deepspeed_releases.json").read_text())["releases"][-1]
            env = dict(os.environ, PYTHONPATH=str(unpacked(newest)), DS_ACCELERATOR="cpu")
            step([python, str(TOOLS / "snapshot_deepspeed_schema.py")], dry, DATA / "deepspeed_schema.json", env)
    elif name in SNAPSHOTS:
        tool, table = SNAPSHOTS[name]
        step([python, str(TOOLS / tool), str(clone(name, repos, dry))], dry, DATA / table)
    else:
        repo = clone(name, repos, dry)
        head = "HEAD" if dry else subprocess.run(["git", "-C", str(repo), "rev-parse", "HEAD"], capture_output=True,
                                                 text=True, check=True).stdout.strip()
        step([python, str(TOOLS / "extract_trainer_args.py"), name, str(repo), "--commit", head], dry,
             DATA / f"{name}_args.json")
        if name == "llamafactory":    # its keys by release, then transformers' by release (read from the wheels)
            step([python, str(TOOLS / "extract_trainer_args.py"), name, str(repo), "--releases"], dry,
                 DATA / "llamafactory_history.json")
            step([python, str(TOOLS / "extract_transformers_args.py"), str(repo), "--wheels",
                  str(repos.parent / "transformers-wheels")], dry, DATA / "transformers_args.json")


def coverage() -> dict:
    """table file -> what it was taken from: releases (first, newest, count) or a commit."""
    def load(name):
        return json.loads((DATA / name).read_text())
    flags, ds, schema = load("openrlhf_flags.json"), load("deepspeed_releases.json"), load("deepspeed_schema.json")
    found = {
        "openrlhf_flags.json": {"releases": [flags["versions"][0], flags["versions"][-1]],
                                "count": len(flags["versions"])},
        "deepspeed_releases.json": {"releases": [ds["releases"][0], ds["releases"][-1]], "count": len(ds["releases"]),
                                    "skipped": ds.get("skipped", [])},
        "deepspeed_schema.json": {"releases": [schema["deepspeed_version"].strip()] * 2, "count": 1},
    }
    verl = [r["name"] for r in load("verl_config.json")["releases"]]
    found["verl_config.json"] = {"releases": [verl[0], verl[-1]], "count": len(verl)}
    chat = max((v for step in load("deepspeed_chat_flags.json")["steps"].values() for v in step["versions"]),
               key=lambda v: v["date"])
    found["deepspeed_chat_flags.json"] = {"commit": chat["commit"], "date": chat["date"]}
    for name in ("llamafactory", "trl", "axolotl"):
        table = load(f"{name}_args.json")
        entry = {"commit": table[f"{name}_commit"]}
        if "transformers_version" in table:
            entry["transformers"] = table["transformers_version"]
        found[f"{name}_args.json"] = entry
    history = load("llamafactory_history.json")        # extract_trainer_args.py llamafactory CLONE --releases
    found["llamafactory_history.json"] = {"releases": [history["versions"][0], history["versions"][-1]],
                                          "count": len(history["versions"])}
    hf = load("transformers_args.json")        # extract_transformers_args.py LLAMAFACTORY_CLONE
    found["transformers_args.json"] = {"releases": [hf["versions"][0], hf["versions"][-1]], "count": len(hf["versions"]),
                                       "commit": hf["llamafactory_commit"]}
    launchers = load("launcher_options.json")["_source"]      # tools/extract_launcher_options.py, installed parsers
    found["launcher_options.json"] = {"releases": [launchers["deepspeed"]] * 2, "count": 1, **launchers}
    return found


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--only", default=",".join(TABLES), help=f"comma-separated, of {', '.join(TABLES)}")
    parser.add_argument("--repos", type=Path, default=Path.home() / ".cache" / "rmlint-tools" / "repos")
    parser.add_argument("--dry-run", action="store_true")
    parser.add_argument("--coverage", action="store_true")
    args = parser.parse_args()
    if args.coverage:
        print(json.dumps(coverage(), indent=1))
        return
    names = [n.strip() for n in args.only.split(",") if n.strip()]
    unknown = [n for n in names if n not in TABLES]
    if unknown:
        parser.error(f"unknown table {unknown[0]!r}; choose from {', '.join(TABLES)}")
    if not args.dry_run:
        args.repos.mkdir(parents=True, exist_ok=True)
    for name in names:
        update(name, args.repos, args.dry_run)


if __name__ == "__main__":
    main()
