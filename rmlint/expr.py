"""The one module that imports CEL (cel-expr-python, Google's C++ CEL runtime): compile once, evaluate fast."""

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
