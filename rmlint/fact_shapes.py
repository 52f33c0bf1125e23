"""The facts' runtime shapes, generated from the declaration (rmlint/fact_schema.py) into fact_shapes.json:
each root's defaults, each path's type and the CEL declarations (each leaf's CEL type, to type-check rule
files, in fact_cel_types.json). Imports nothing of rmlint, and not
pydantic: every run reads it, the declaration only tools and tests do."""

import copy
import json
from functools import lru_cache
from pathlib import Path

RUNTIME = Path(__file__).resolve().parent / "fact_shapes.json"
CEL_TYPES = Path(__file__).resolve().parent / "fact_cel_types.json"   # read only to type-check rule files


@lru_cache(maxsize=1)
def _runtime() -> dict:
    return json.loads(RUNTIME.read_text())


def default(root: str) -> dict:
    """A fresh copy of one root's defaults."""
    return copy.deepcopy(_runtime()["defaults"][root])


def defaults_shared() -> dict:
    """Every root's defaults, shared: read, never change them."""
    return _runtime()["defaults"]


def types() -> dict:
    """fact path -> its type (`int`, `string`, `map`, `list`, `int or null`, ...), blocks included."""
    return _runtime()["types"]


def cel_declarations() -> dict:
    """variable -> CEL type (`map`, `dyn`): the roots every condition may name, and `item`."""
    return _runtime()["cel"]


@lru_cache(maxsize=1)
def cel_leaves() -> tuple:
    """({leaf path: CEL type}, {list path: {item field: CEL type}}): the declarations a rule file loaded with
    validation is type-checked against (rules.py)."""
    declared = json.loads(CEL_TYPES.read_text())
    return declared["leaves"], declared["items"]
