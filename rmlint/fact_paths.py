"""The facts a rule may read, derived from the shapes every subject carries (facts.defaults()):
rule packs are checked against them at load, and docs/facts.md is generated from them."""

import difflib
from functools import lru_cache

# CEL member functions and macros written after a fact (`role.path.matches(...)`, `ckpt.misplaced.size()`)
MEMBERS = {"size", "contains", "startsWith", "endsWith", "matches", "exists", "all", "exists_one", "map", "filter"}

# which inputs set each root of the facts
SET_BY = {
    "input": "every input",
    "launch": "OpenRLHF launches (scripts, `rmlint check-args`, argument files)",
    "args": "OpenRLHF launches: flags resolved for the release they run",
    "role": "OpenRLHF launches: one subject per model of the launch",
    "ds": "DeepSpeed configs: files, accelerate configs, the config OpenRLHF or a trainer builds",
    "ckpt": "checkpoints: `rmlint inspect`, models and adapters named by launches and configs",
    "trainer": "LLaMA-Factory, TRL and axolotl configs and launches",
    "reward": "PPO launches (OpenRLHF, TRL, LLaMA-Factory) and `openrlhf.cli.lora_combiner --is_rm`",
    "versions": "every input: the releases it runs with (settings, installed distributions, repository pins)",
}


@lru_cache(maxsize=1)
def shapes() -> dict:
    """fact path -> its default value, for every path below the roots (a mapping's own path too)."""
    from .facts import defaults
    found = {}

    def walk(value, path):
        found[path] = value
        if isinstance(value, dict):
            for key, inner in value.items():
                walk(inner, f"{path}.{key}")
    for root, value in defaults().items():
        walk(value, root)
    return found


def problem(path: str) -> str | None:
    """None when a rule may read `path`; else the closest fact, or "" when none is close."""
    known = shapes()
    parts = path.split(".")
    for end in range(len(parts), 0, -1):
        prefix = ".".join(parts[:end])
        if prefix not in known:
            continue
        rest, value = parts[end:], known[prefix]
        if not rest or (isinstance(value, dict) and not value):   # a mapping with free keys (ds.optimizer.params)
            return None
        if len(rest) == 1 and rest[0] in MEMBERS and not isinstance(value, dict):
            return None
        break
    close = difflib.get_close_matches(path, list(known), n=1, cutoff=0.75)
    return close[0] if close else ""


def type_name(value) -> str:
    if isinstance(value, bool):
        return "bool"
    if isinstance(value, int):
        return "int"
    if isinstance(value, float):
        return "float"
    if isinstance(value, str):
        return "string"
    if isinstance(value, list):
        return "list"
    if isinstance(value, dict):
        return "map"
    return "string or null"
