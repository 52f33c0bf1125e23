"""Exact mode: a DeepSpeed config validated by the installed DeepSpeed's own code.

`DeepSpeedConfig` (deepspeed/runtime/config.py) is built from the config the way
deepspeed.initialize builds it, with `deepspeed.comm`'s rank and world size answered locally, so
no GPU and no process group are needed. What it raises (pydantic ValidationErrors of its strict
blocks, assertions, DeepSpeedConfigError, ValueError) becomes findings at the key's line:col.
Imported only in exact mode: `--deepspeed-schema installed`, `deepspeed-schema = "installed"` in
the settings, or a library call in a process that has already imported deepspeed.
"""

import copy
from ...suggest import suggest
import os
import sys

from .schema import STRICT_BLOCKS

# where an assertion's subject is written, by the words of DeepSpeed's message (DeepSpeed's own words, matched,
# never shown: runtime/config.py `'bfloat16 and fp16 modes cannot be simultaneously enabled'`)
_MESSAGE_KEYS = (("bfloat16 and fp16", ("fp16",)), ("batch", ("train_batch_size",)),
                 ("gradient_accumulation", ("gradient_accumulation_steps",)), ("mics", ("zero_optimization",)),
                 ("offload", ("zero_optimization",)), ("stage", ("zero_optimization", "stage")))


class ExactUnavailable(Exception):
    """DeepSpeed cannot be imported here: its text is the import's own words (a usage error, worded by the
    settings: config.EXACT_UNAVAILABLE)."""


def in_use() -> bool:
    """The library's automatic choice: exact mode when the process has imported deepspeed already."""
    return "deepspeed" in sys.modules


def _models() -> dict:
    """pydantic model class name -> strict block name."""
    return {path.rsplit(":", 1)[1]: block for block, path in STRICT_BLOCKS.items()}


def _deepspeed():
    os.environ.setdefault("DS_ACCELERATOR", "cpu")
    try:
        import deepspeed  # noqa: F401
        from deepspeed.runtime.config import DeepSpeedConfig
    except Exception as err:   # ImportError, or a broken torch underneath
        raise ExactUnavailable(str(err)) from None
    return deepspeed, DeepSpeedConfig


def _without_auto(value):
    """HF and accelerate fill "auto" before DeepSpeed sees the config; DeepSpeed's default stands in."""
    if isinstance(value, dict):
        return {k: _without_auto(v) for k, v in value.items() if v != "auto"}
    if isinstance(value, list):
        return [_without_auto(v) for v in value]
    return value


def _world_size(config: dict) -> int:
    """A data-parallel size that makes the batch keys agree when one exists (files do not say)."""
    batch, micro, accum = (config.get(k) for k in ("train_batch_size", "train_micro_batch_size_per_gpu",
                                                   "gradient_accumulation_steps"))
    if all(isinstance(v, int) and v > 0 for v in (batch, micro, accum)) and batch % (micro * accum) == 0:
        return batch // (micro * accum)
    if isinstance(batch, int) and isinstance(micro, int) and micro > 0 and batch % micro == 0 and batch > 0:
        return batch // micro
    return 1


def validate(config: dict, world_size: int | None = None) -> list:
    """[(key path, facts)] of what the installed DeepSpeed refuses in `config`; [] when it accepts it. The facts,
    worded by the rule of problem `deepspeed-refuses`: `form` `unknown` (`suggestion`), `rejects` (DeepSpeed's
    `error`, the value it `got`) or `raises` (the `version` and `exception` raised with its `error` text)."""
    from unittest import mock
    deepspeed, DeepSpeedConfig = _deepspeed()
    from pydantic import ValidationError
    original = config
    config = _without_auto(copy.deepcopy(config))
    if "train_batch_size" not in config and "train_micro_batch_size_per_gpu" not in config:
        # the batch comes from the launcher (HF Trainer, accelerate, OpenRLHF fill it): stand in for it
        config["train_micro_batch_size_per_gpu"] = 1
        if original.get("gradient_accumulation_steps") == "auto":
            config["gradient_accumulation_steps"] = 1
    world = world_size or _world_size(config)
    try:
        with mock.patch("deepspeed.comm.get_rank", return_value=0), \
                mock.patch("deepspeed.comm.get_world_size", return_value=world):
            DeepSpeedConfig(config)
    except ValidationError as err:
        return [_pydantic_problem(err.title, e, config) for e in err.errors()]
    except Exception as err:   # AssertionError, DeepSpeedConfigError, ValueError, TypeError, KeyError ...
        text = " ".join(str(err).split()) or type(err).__name__
        lower = text.lower()
        path = next((keys for words, keys in _MESSAGE_KEYS if words in lower), ())
        return [(path, {"form": "raises", "version": deepspeed.__version__, "exception": type(err).__name__,
                        "error": text})]
    return []


def _pydantic_problem(title: str, error: dict, config: dict) -> tuple:
    block = _models().get(title, "")
    location = tuple(str(p) for p in error["loc"])
    path = ((block,) if block else ()) + location
    if error["type"] == "extra_forbidden":
        known = _known_fields(block, location[:-1])
        return path, {"form": "unknown", "path": ".".join(path), "suggestion": suggest(location[-1], known) or ""}
    value = error.get("input")
    return path, {"form": "rejects", "path": ".".join(path) or block, "error": error["msg"],
                  "got": repr(value) if not isinstance(value, dict) else ""}


def _known_fields(block: str, inner: tuple) -> list:
    from .schema import schema
    fields = schema().strict.get(block) or {}
    for name in inner:
        field = fields.get(name)
        fields = field.fields if field and field.fields else {}
    return [n for n in fields] + [f.alias for f in fields.values() if f.alias]
