"""verl's composed Hydra configs, release by release (rmlint/data/verl_config.json, made by
tools/snapshot_verl_config.py with Hydra's own compose), and what Hydra decides about an override."""

import json
import re
from functools import lru_cache

from ...data import TABLES
from ...versions import release_key, runs

DATA = TABLES / "verl_config.json"
_SELECT = re.compile(r"\$\{oc\.select:([A-Za-z0-9_.]+),([^}]*)\}$")
_PLAIN = re.compile(r"\$\{([A-Za-z0-9_.]+)\}$")


@lru_cache(maxsize=1)
def snapshot() -> dict:
    return json.loads(DATA.read_text())


def releases() -> list:
    return [r["name"] for r in snapshot()["releases"]]


def release_index(version: str) -> int | None:
    """The index of the release a pin (`verl==0.8.0`) runs: that release, or the newest one before it; None
    when the pin is newer than every release in the table (its keys are not known)."""
    named = [(i, release_key(name[1:])) for i, name in enumerate(releases()) if name.startswith("v")]
    wanted = release_key(version)
    if wanted > named[-1][1]:
        return None
    before = [i for i, found in named if found <= wanted]
    return before[-1] if before else named[0][0]


def span(found) -> str:
    """The named releases among indexes, as runs ("0.2–0.4.1, 0.9.0–0.9.1"); main commits between
    releases are left out ("" when there is nothing else: the rules word that)."""
    names = releases()
    named = [i for i, name in enumerate(names) if name.startswith("v")]
    shown = [(names[named[a]][1:], names[named[b]][1:]) for a, b in runs(k for k, i in enumerate(named) if i in found)]
    return ", ".join(a if a == b else f"{a}–{b}" for a, b in shown)


def indexes(ranges: str) -> list:
    """"0-2,5" -> [0, 1, 2, 5] (the table writes release indexes as ranges)."""
    found = []
    for run in ranges.split(","):
        first, _, last = run.partition("-")
        found += range(int(first), int(last or first) + 1)
    return found


@lru_cache(maxsize=None)
def keys(config: str) -> dict | None:
    """dotted key -> {"default", "in": [release indexes]} of one of verl's own configs, None when not known.
    `older`: release index -> the default there, where it was not the newest release's. The table stores the
    keys as a tree, "@" holding a key's own [default, releases, older defaults]."""
    entry = snapshot()["configs"].get(config)
    if not entry:
        return None
    flat, todo = {}, [("", entry["keys"])]
    while todo:
        prefix, node = todo.pop()
        for part, below in node.items():
            if part == "@":
                older = {i: value for value, runs in (below[2] if len(below) > 2 else []) for i in indexes(runs)}
                flat[prefix] = {"default": below[0], "in": indexes(below[1]), "older": older}
            else:
                todo.append((f"{prefix}.{part}" if prefix else part, below))
    return flat


def groups(config: str) -> set:
    entry = snapshot()["configs"].get(config)
    return set(entry["groups"]) if entry else set()


def flatten(node, prefix: str, out: dict) -> None:
    """A nested config as dotted keys; an empty mapping stays a leaf (`{}`), as Hydra's struct mode sees it."""
    if isinstance(node, dict) and node:
        for key, value in node.items():
            flatten(value, f"{prefix}.{key}" if prefix else str(key), out)
    else:
        out[prefix] = {} if isinstance(node, dict) else node


class Tree:
    """The keys of a composed config (leaves and the nodes above them) with their defaults, and the
    releases that have each key."""

    def __init__(self, flat: dict, presence: dict | None = None, count: int = 1, older: dict | None = None):
        self.leaves = dict(flat)
        self.older = older or {}        # key -> {release index: default} where not the newest default
        self.everywhere = frozenset(range(count))
        self.presence = {key: frozenset(presence[key]) if presence else self.everywhere for key in flat}
        self.nodes = {}
        for key, found in self.presence.items():
            for i in range(1, key.count(".") + 1):
                node = key.rsplit(".", i)[0]
                self.nodes[node] = self.nodes.get(node, frozenset()) | found

    def add(self, extra: dict) -> None:
        """Keys of a config of one's own, merged over verl's (in every release)."""
        for key, default in extra.items():
            self.leaves[key] = default
            self.presence[key] = self.everywhere
            for i in range(1, key.count(".") + 1):
                self.nodes[key.rsplit(".", i)[0]] = self.everywhere
            for node in [n for n in self.leaves if key.startswith(n + ".")]:   # a leaf {} or null became a node
                del self.leaves[node]

    def at(self, index: int) -> "Tree":
        """The keys of one release alone (with the keys of one's own config)."""
        return Tree({k: self.older.get(k, {}).get(index, v) for k, v in self.leaves.items() if index in self.presence[k]})

    def releases_of(self, key: str) -> frozenset:
        return self.presence.get(key) or self.nodes.get(key) or frozenset()

    def fit(self, written: list) -> frozenset:
        """The releases that have every key the launch changes (those no release has aside)."""
        found = self.everywhere
        for key in written:
            present = self.releases_of(key)
            if present and present & found:
                found &= present
        return found

    def has(self, key: str) -> bool:
        return key in self.presence or key in self.nodes

    def hint(self, key: str) -> str:
        """The closest existing key: a sibling (`ppo_mini_batchsize` -> `ppo_mini_batch_size`), or when the
        parent itself is misspelled, a key of the same depth."""
        from ...suggest import SURE, suggest
        parent, _, leaf = key.rpartition(".")
        siblings = {k.rpartition(".")[2] for k in self.leaves.keys() | self.nodes.keys() if k.rpartition(".")[0] == parent}
        close = suggest(leaf, sorted(siblings))
        if close:
            return f"{parent}.{close}" if parent else close
        if not parent or self.has(parent):     # the parent is right: only its own keys are candidates
            return ""
        depth = key.count(".")                 # a misspelled parent (`actor_rollout_ref.actr.x`): same depth
        others = {k for k in self.leaves.keys() | self.nodes.keys() if k.count(".") == depth}
        return suggest(key, sorted(others), SURE) or ""

    def decide(self, prefix: str, key: str, value=None, fit: frozenset | None = None) -> str:
        """What Hydra 1.3 (ConfigLoaderImpl._apply_overrides_to_config) does with the override: ""
        (accepted), "not-in-struct" (no release has the key), "exists" (`+` on a key whose value is not
        null in every release that fits the launch, unless the new value is a list or dict), "missing"
        (`~` on a key that no release has, or that is null)."""
        if prefix == "++":
            return ""
        current = resolve(self.leaves, key) if key in self.leaves else ({} if key in self.nodes else None)
        if prefix == "+":
            fitting = fit or self.everywhere
            always = fitting <= self.releases_of(key)
            older = self.older.get(key, {})     # a release where the default was null takes the `+`
            filled = all((older[r] if r in older else current) is not None for r in fitting)
            return "exists" if filled and always and not isinstance(value, (dict, list)) else ""
        if prefix == "~":
            return "" if current is not None else "missing"
        return "" if self.has(key) else "not-in-struct"


def tree(config: str) -> Tree:
    """The keys of one of verl's configs in every release rmlint knows."""
    own = keys(config)
    return Tree({k: v["default"] for k, v in own.items()}, {k: v["in"] for k, v in own.items()}, len(releases()),
                {k: v["older"] for k, v in own.items() if v["older"]})


def resolve(values: dict, key: str, depth: int = 0, blind: set = frozenset()):
    """A value with verl's simple interpolations followed: `${oc.select:a.b,default}`, `${a.b}`, and the
    relative `${oc.select:.x,null}` (a sibling). None when it depends on a key in `blind` (not known)."""
    if key in blind:
        return None
    value = values.get(key)
    if not isinstance(value, str) or depth > 8:
        return value
    match = _SELECT.match(value)
    target, default = (match.group(1), match.group(2)) if match else (None, None)
    if not match:
        plain = _PLAIN.match(value)
        if not plain:
            return value
        target = plain.group(1)
    if target.startswith("."):
        target = key.rpartition(".")[0] + target
    if target in values and values[target] is not None:
        return resolve(values, target, depth + 1, blind)
    if target in blind:
        return None
    if default is None:
        return None
    from ..hydra import value as parse_value
    return parse_value(default)
