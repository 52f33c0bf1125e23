"""The `ckpt` and `reward` facts' defaults, as declared in rmlint/fact_schema.py (importable without the readers)."""

from ...fact_shapes import default, defaults_shared


def defaults() -> dict:
    return default("ckpt")


def head() -> dict:
    return default("ckpt")["head"]


def lora() -> dict:
    return default("ckpt")["lora"]


def keys() -> tuple:
    return tuple(defaults_shared()["ckpt"])


def reward_defaults() -> dict:
    return default("reward")
