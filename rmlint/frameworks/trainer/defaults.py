"""The `trainer` facts' defaults (LLaMA-Factory, TRL, axolotl, PEFT, verl, DeepSpeed-Chat), as declared in
rmlint/fact_schema.py, importable without the readers: every subject carries them (facts.defaults)."""

from ...fact_shapes import default


def defaults() -> dict:
    return default("trainer")
