"""The facts every subject carries: each root present with its declared defaults, so any rule's
condition evaluates on any subject (CEL fails on absent keys)."""

import copy

from .fact_shapes import defaults_shared


def defaults() -> dict:
    """Fresh facts with every root at its declared default (rmlint/fact_schema.py); `versions` is shared
    read-only (each subject gets its own at the end)."""
    shared = defaults_shared()
    return {root: value if root == "versions" else copy.deepcopy(value) for root, value in shared.items()}
