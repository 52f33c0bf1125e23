"""DeepSpeed's config keys in every release from 0.10 on, from rmlint/data/deepspeed_releases.json
(made by tools/snapshot_deepspeed_releases.py from each release's own config models).

Each entry holds runs [first, last, value] over release indices. `schema_at(i)` rebuilds one
release's snapshot in the format of deepspeed_schema.json; `moments(config)` are the releases at
which anything a config names changed, so a config is inspected once per era, not per release.
"""

import json
from functools import lru_cache

from ...data import TABLES
from ...versions import release_key as version_key, runs
from .schema import Schema

DATA = TABLES / "deepspeed_releases.json"


class Releases:
    def __init__(self, raw: dict):
        self.versions = raw["releases"]
        self.keys = [version_key(v) for v in self.versions]
        self.parts = {part: raw[part] for part in ("blocks", "strict", "lenient", "removed")}
        self.aliases = {}    # "zero_optimization.stage3_gather_16bit_weights_on_model_save" -> field path
        for path, runs in raw["strict"].items():
            for _, _, spec in runs:
                if spec.get("alias"):
                    self.aliases[path.rsplit(".", 1)[0] + "." + spec["alias"]] = path

    def index(self, version: str) -> int | None:
        """The snapshotted release a version is judged by: itself, else the nearest older one."""
        wanted = version_key(version)
        if not wanted or wanted < self.keys[0]:
            return None
        return max(i for i, k in enumerate(self.keys) if k <= wanted)

    def snapshot_at(self, index: int) -> dict:
        def live(part):
            return {name: next(v for a, b, v in runs if a <= index <= b)
                    for name, runs in self.parts[part].items() if any(a <= index <= b for a, b, _ in runs)}
        strict = {block: {} for block in live("blocks")}
        holders = {block: strict[block] for block in strict}
        for path, spec in sorted(live("strict").items(), key=lambda item: item[0].count(".")):
            parent, name = path.rsplit(".", 1)
            if parent not in holders:
                continue
            entry = {k: v for k, v in spec.items() if k != "strict"}
            if spec.get("strict"):
                entry["fields"] = holders[path] = {}
            holders[parent][name] = entry
        return {"deepspeed_version": self.versions[index], "strict": strict,
                "lenient": sorted(live("lenient")), "removed": live("removed")}

    def moments(self, paths) -> list:
        """Release indices where anything about these dotted key paths (or their blocks) changes."""
        starts = {0}
        for path in paths:
            parts = path.split(".")
            for depth in range(1, len(parts) + 1):
                name = ".".join(parts[:depth])
                name = self.aliases.get(name, name)
                for part in self.parts.values():
                    for first, last, _ in part.get(name, ()):
                        starts.update((first, last + 1))
        return sorted(i for i in starts if i < len(self.versions))

    def span(self, indices) -> list:
        """Release indices as ranges: ">= 0.19.6", "<= 0.19.5", "0.14.0 - 0.17.6"."""
        out, last = [], len(self.versions) - 1
        for first, end in runs(indices):
            low, high = self.versions[first], self.versions[end]
            if first == 0 and end == last:
                out.append(f">= {low}")
            elif end == last:
                out.append(f">= {low}")
            elif first == 0:
                out.append(f"<= {high}")
            else:
                out.append(low if low == high else f"{low} - {high}")
        return out


@lru_cache(maxsize=1)
def releases() -> Releases:
    return Releases(json.loads(DATA.read_text()))


@lru_cache(maxsize=64)
def schema_at(index: int) -> Schema:
    return Schema(releases().snapshot_at(index))
