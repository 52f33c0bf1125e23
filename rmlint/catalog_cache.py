"""A cache of the compiled built-in catalog, so start-up skips YAML parsing and CEL compilation.

Keyed by a hash of every rule file's name and bytes plus the rmlint version: any edit to a rule
file makes a new key. Lives in $RMLINT_CACHE_DIR, else $XDG_CACHE_HOME/rmlint, else
~/.cache/rmlint; RMLINT_NO_CACHE=1 turns it off. Failing to read or write it is never an error.
"""

import base64
import zlib
import json
import os
from dataclasses import asdict
from pathlib import Path

from . import __version__


def _directory() -> Path:
    if os.environ.get("RMLINT_CACHE_DIR"):
        return Path(os.environ["RMLINT_CACHE_DIR"])
    base = os.environ.get("XDG_CACHE_HOME") or os.path.join(os.path.expanduser("~"), ".cache")
    return Path(base) / "rmlint"


def _file(paths: list) -> Path | None:
    if os.environ.get("RMLINT_NO_CACHE"):
        return None
    from .expr import ROOTS   # the fact roots compiled expressions were checked against
    key, total = zlib.crc32((__version__ + " ".join(ROOTS)).encode()), 0
    try:
        for path in paths:  # crc32 is enough to notice an edit, and its import costs nothing
            data = path.read_bytes()
            key = zlib.crc32(data, zlib.crc32(path.name.encode(), key))
            total += len(data)
    except OSError:
        return None
    return _directory() / f"catalog-{key:08x}-{total:x}-{len(paths)}.json"


def load(paths: list):
    """[(raw rule dict, path, (condition, items))] or None when there is no usable cache."""
    target = _file(paths)
    if target is None or not target.is_file():
        return None
    try:
        from .expr import deserialize
        entries = json.loads(target.read_text())
        by_name = {p.name: p for p in paths}
        return [(e["rule"], by_name[e["file"]],
                 (deserialize(e["condition"]), deserialize(e["items"]) if e["items"] else None))
                for e in entries]
    except Exception:  # a damaged or foreign cache is ignored, never fatal
        return None


def store(paths: list, rules) -> None:
    target = _file(paths)
    if target is None:
        return
    entries = [{"file": r.source.name, "rule": asdict(r.rule),
                "condition": base64.b64encode(r.condition.serialize()).decode(),
                "items": base64.b64encode(r.items.serialize()).decode() if r.items else None} for r in rules]
    try:
        target.parent.mkdir(parents=True, exist_ok=True)
        temporary = target.with_suffix(f".{os.getpid()}.tmp")
        temporary.write_text(json.dumps(entries))
        os.replace(temporary, target)
    except OSError:
        pass
