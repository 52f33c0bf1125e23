"""The facts a rule may read, as declared (rmlint/fact_schema.py, through its generated shapes): rule packs
are checked against them at load."""

from .suggest import suggest
from functools import lru_cache

# CEL member functions and macros written after a fact (`role.path.matches(...)`, `ckpt.misplaced.size()`)
MEMBERS = {"size", "contains", "startsWith", "endsWith", "matches", "exists", "all", "exists_one", "map", "filter"}


@lru_cache(maxsize=1)
def shapes() -> dict:
    """fact path -> its default value, for every path below the roots (a mapping's own path too)."""
    from .fact_shapes import defaults_shared
    found = {}

    def walk(value, path):
        found[path] = value
        if isinstance(value, dict):
            for key, inner in value.items():
                walk(inner, f"{path}.{key}")
    for root, value in defaults_shared().items():
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
    return suggest(path, known) or ""


def type_name(path: str) -> str:
    """The declared type of a fact path (rmlint/fact_schema.py)."""
    from .fact_shapes import types
    return types()[path]
