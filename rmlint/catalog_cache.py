"""A cache of the built-in catalog's compiled conditions, so start-up skips CEL compilation.

It holds compiled conditions only (and the fact paths each reads), each bound to the crc32 of the
rule file it was compiled from; a rule's severity, scope, message and fix always come from its
file (rules.py). An entry that does not match its file (name, crc, shape) discards the cache,
which is rebuilt. Lives in $RMLINT_CACHE_DIR, else $XDG_CACHE_HOME/rmlint, else ~/.cache/rmlint;
RMLINT_NO_CACHE=1 turns it off. Failing to read or write it is never an error. Whoever can write
that folder can change what the conditions compute, as whoever can write rmlint's own files can:
keep it yours (README, "The catalog cache").
"""

import base64
import json
import os
import zlib
from pathlib import Path

from .about import __version__
from .cache_folder import cache_folder

MAX_CACHE = 32 * 1024 * 1024
_KEYS = {"file", "crc", "condition", "items", "needs"}


def read_sources(paths: list) -> dict | None:
    """name -> (bytes, crc32) of every rule file; None when one cannot be read."""
    try:
        return {path.name: (data, zlib.crc32(data)) for path in paths for data in (path.read_bytes(),)}
    except OSError:
        return None


def _file(sources: dict) -> Path | None:
    if os.environ.get("RMLINT_NO_CACHE") or sources is None:
        return None
    from .fact_shapes import cel_declarations   # what compiled expressions were checked against
    key, total = zlib.crc32((__version__ + repr(cel_declarations())).encode()), 0
    for name, (data, crc) in sources.items():  # crc32 is enough to notice an edit, and its import costs nothing
        key = zlib.crc32(data, zlib.crc32(name.encode(), key))
        total += len(data)
    return cache_folder() / f"catalog-{key:08x}-{total:x}-{len(sources)}.json"


def _valid(entry, sources: dict) -> bool:
    return (isinstance(entry, dict) and set(entry) == _KEYS and entry["file"] in sources
            and entry["crc"] == sources[entry["file"]][1] and isinstance(entry["condition"], str)
            and (entry["items"] is None or isinstance(entry["items"], str))
            and isinstance(entry["needs"], list) and all(isinstance(n, str) for n in entry["needs"]))


def load(sources: dict) -> dict | None:
    """file name -> (condition, items, needs), or None when there is no cache that matches every file."""
    target = _file(sources)
    if target is None:
        return None
    try:
        from .sources.files import read_input
        entries = json.loads(read_input(str(target), MAX_CACHE))
        if not (isinstance(entries, list) and len(entries) == len(sources)
                and all(_valid(e, sources) for e in entries) and len({e["file"] for e in entries}) == len(sources)):
            return None
        from .expr import deserialize
        return {e["file"]: (deserialize(e["condition"]), deserialize(e["items"]) if e["items"] else None,
                            list(e["needs"])) for e in entries}
    except Exception:  # absent, damaged or foreign: ignored (and rebuilt), never fatal
        return None


def store(sources: dict, rules) -> None:
    target = _file(sources)
    if target is None:
        return
    entries = [{"file": r.source.name, "crc": sources[r.source.name][1],
                "condition": base64.b64encode(r.condition.serialize()).decode(),
                "items": base64.b64encode(r.items.serialize()).decode() if r.items else None,
                "needs": r.needs} for r in rules]
    try:
        target.parent.mkdir(parents=True, exist_ok=True)
        temporary = target.with_suffix(f".{os.getpid()}.tmp")
        temporary.write_text(json.dumps(entries))
        os.replace(temporary, target)
    except OSError:
        pass
