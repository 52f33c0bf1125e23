"""The one module that imports CEL (cel-expr-python, Google's C++ CEL runtime): compile once, evaluate fast."""

import re
from functools import lru_cache

from .fact_shapes import cel_declarations

ROOTS = tuple(cel_declarations())   # the fact roots, and `item` (what a rule's for_each walks)


class ExpressionError(Exception):
    pass


@lru_cache(maxsize=1)
def _env():
    from cel_expr_python import cel
    kinds = {"map": cel.Type.Map(cel.Type.STRING, cel.Type.DYN), "dyn": cel.Type.DYN}
    return cel.NewEnv(variables={name: kinds[kind] for name, kind in cel_declarations().items()})


@lru_cache(maxsize=32)
def _typed_env(items: str | None):
    """Every fact declared to its leaf type (`args.zero_stage` an int or null, no block a free map), and
    `item.<field>` typed as the elements of the list `items` a for_each walks: for checking only. A run
    binds the roots as maps (`_env`), so the compiled programs do not come from here."""
    from cel_expr_python import cel
    from .fact_shapes import cel_leaves
    leaves, item_fields = cel_leaves()
    variables = {path: _type(cel, kind) for path, kind in leaves.items()}
    if items is None:
        pass
    elif items in item_fields:
        variables.update({f"item.{name}": _type(cel, kind) for name, kind in item_fields[items].items()})
    else:
        element = leaves.get(items, "list(dyn)")
        variables["item"] = _type(cel, element[5:-1] if element.startswith("list(") else "dyn")
    return cel.NewEnv(variables=variables)


def _type(cel, signature: str):
    """A declared type as CEL's checker knows it (`cel.Type("list(string)")` names an abstract type instead)."""
    if signature.startswith("list("):
        return cel.Type.List(_type(cel, signature[5:-1]))
    if signature.startswith("map("):
        key, value = signature[4:-1].split(", ")
        return cel.Type.Map(_type(cel, key), _type(cel, value))
    return getattr(cel.Type, signature.upper(), None) or cel.Type(signature)


_HAS = re.compile(r"\bhas\(\s*([A-Za-z_][\w.]*)\s*\)")


def type_error(source: str, items: str | None = None, result: str = "bool") -> str | None:
    """CEL's type check of an expression against the facts' declared types: None when it passes, else CEL's
    message (an unknown fact, an operator applied to types it has no overload for, a result of another type
    than `result`). `items`: the fact path a rule's for_each walks, which types `item`."""
    # has() of a declared fact is true on every subject (each carries its defaults); CEL's checker types has()
    # of a dotted declaration as that fact's type, so it is checked as `true` (padded: columns stay)
    from .fact_shapes import cel_leaves
    leaves, item_fields = cel_leaves()
    declared = set(leaves) | {f"item.{name}" for name in item_fields.get(items) or ()}
    source = _HAS.sub(lambda m: "true".ljust(len(m.group(0))) if m.group(1) in declared else m.group(0), source)
    try:
        kind = _typed_env(items).compile(source).return_type().name()
    except RuntimeError as err:
        message = str(err).replace("INVALID_ARGUMENT: ", "").replace("ERROR: <input>:", "at ")
        return re.sub(r"wrapper\((\w+)\)", r"\1 or null", message.replace(" [INVALID_ARGUMENT]", ""))
    if not kind.lower().startswith((result, "dyn")):
        return f"gives {kind.lower()}, not {result}"
    return None


def compile_expression(source: str):
    try:
        return _env().compile(source)
    except RuntimeError as err:
        raise ExpressionError(str(err).replace("INVALID_ARGUMENT: ", "")) from None


def deserialize(serialized: bytes):
    """A program compiled earlier (the catalog cache holds them serialized)."""
    try:
        return _env().deserialize(serialized)
    except RuntimeError as err:
        raise ExpressionError(str(err).replace("INVALID_ARGUMENT: ", "")) from None


def activation(facts: dict):
    return _env().Activation(facts)


def evaluate(program, bound):
    """Evaluate a compiled expression against an activation (or a plain mapping); CEL's own limits
    (its comprehension iteration budget) end a runaway rule with ExpressionError."""
    try:
        result = program.eval(bound) if not isinstance(bound, dict) else program.eval(data=bound)
    except RuntimeError as err:
        raise ExpressionError(str(err).replace("INTERNAL: ", "")) from None
    if result.type().name() == "ERROR":
        raise ExpressionError(str(result.value()))
    return result.plain_value()
