"""Snapshot DeepSpeed's config keys into rmlint/data/deepspeed_schema.json.

Usage (needs `pip install torch==2.13.0 deepspeed`; runs on a CPU, no process group):
    DS_ACCELERATOR=cpu python tools/snapshot_deepspeed_schema.py > rmlint/data/deepspeed_schema.json

Two sources, both DeepSpeed's own:
- every strict block (a pydantic model with extra="forbid") is read from `model_fields`:
  field names, aliases, defaults, and deprecations with their replacement;
- the lenient blocks (parsed with dict.get, typos ignored) are found by handing
  `DeepSpeedConfig` an instrumented dict that records each key DeepSpeed looks up.
"""

import enum
import json
import sys
import typing
from pathlib import Path
from unittest import mock

import deepspeed
import pydantic
from deepspeed.runtime.config import DeepSpeedConfig

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))   # the checkout's rmlint, installed or not
from rmlint.deepspeed.schema import STRICT_BLOCKS  # noqa: E402



def load(path):
    module, name = path.split(":")
    return getattr(__import__(module, fromlist=[name]), name)


def plain(value):
    if isinstance(value, enum.Enum):
        return plain(value.value)
    if isinstance(value, (bool, int, float, str)) or value is None:
        return value if not (isinstance(value, float) and value != value) else None
    if isinstance(value, (list, tuple)):
        return [plain(v) for v in value]
    return repr(value)


def nested_model(annotation):
    for arg in [annotation, *typing.get_args(annotation)]:
        if isinstance(arg, type) and issubclass(arg, pydantic.BaseModel):
            return arg
    return None


def allowed_values(annotation):
    """The values an Enum or Literal field accepts (None for open types); Optional adds None."""
    args = typing.get_args(annotation)
    options = [annotation, *args] if typing.get_origin(annotation) is not typing.Literal else [annotation]
    values, optional = [], type(None) in args
    for option in options:
        if isinstance(option, type) and issubclass(option, enum.Enum):
            values += [plain(member.value) for member in option]
        elif typing.get_origin(option) is typing.Literal:
            values += [plain(v) for v in typing.get_args(option)]
        elif option is not annotation and option is not type(None):
            return None    # a union with an open type: any value of it may be valid
    if not values:
        return None
    return sorted(set(values), key=repr) + ([None] if optional else [])


def describe(model):
    fields = {}
    for name, info in model.model_fields.items():
        extra = info.json_schema_extra if isinstance(info.json_schema_extra, dict) else {}
        entry = {"default": plain(info.get_default(call_default_factory=True))
                 if not info.is_required() else None}
        if info.alias and info.alias != name:
            entry["alias"] = info.alias
        if extra.get("deprecated"):
            entry["deprecated"] = True
            if extra.get("new_param"):
                entry["new_param"] = extra["new_param"]
            if extra.get("new_param_fn"):
                entry["converts"] = True    # the old value is converted, not just renamed
        choices = allowed_values(info.annotation)
        if choices is not None:
            entry["choices"] = choices
        for bound in info.metadata:   # annotated_types Gt/Ge on numbers (pydantic Field(gt=...))
            for kind in ("gt", "ge"):
                if getattr(bound, kind, None) is not None:
                    entry[kind] = plain(getattr(bound, kind))
        sub = nested_model(info.annotation)
        if sub is not None and sub.model_config.get("extra") == "forbid":
            entry["fields"] = describe(sub)
        fields[name] = entry
    return fields


class Recorder(dict):
    """A dict that records every key DeepSpeed asks it for, wrapping nested dicts too."""

    def __init__(self, data, seen, prefix=""):
        super().__init__({k: Recorder(v, seen, f"{prefix}{k}.") if isinstance(v, dict) else v
                          for k, v in data.items()})
        self.seen, self.prefix = seen, prefix

    def _note(self, key):
        if isinstance(key, str):
            self.seen.add(self.prefix + key)

    def get(self, key, default=None):
        self._note(key)
        return super().get(key, default)

    def __getitem__(self, key):
        self._note(key)
        return super().__getitem__(key)

    def __contains__(self, key):
        self._note(key)
        return super().__contains__(key)


LENIENT_PROBE = {  # every lenient block present, so DeepSpeed looks inside each one
    "train_micro_batch_size_per_gpu": 1, "gradient_accumulation_steps": 1,
    "activation_checkpointing": {}, "flops_profiler": {}, "aio": {}, "checkpoint": {},
    "data_types": {}, "optimizer": {"type": "adamw", "params": {}},
    "scheduler": {"type": "WarmupLR", "params": {}}, "data_efficiency": {},
    "autotuning": {}, "pipeline": {}, "timers": {}, "torch_autocast": {},
}


def lenient_keys():
    seen = set()
    with mock.patch("deepspeed.comm.get_rank", return_value=0), \
         mock.patch("deepspeed.comm.get_world_size", return_value=1):
        DeepSpeedConfig(Recorder(LENIENT_PROBE, seen))
    return sorted(seen)


def removed_keys():
    """Keys DeepSpeed now rejects outright, as dotted paths with DeepSpeed's own message."""
    import deepspeed.runtime.config as config
    found = {}
    for prefix, table in (("", "_REMOVED_TOP_LEVEL_CONFIG_KEYS"), ("zero_optimization.", "_REMOVED_ZERO_CONFIG_KEYS")):
        found.update({prefix + key: message for key, message in getattr(config, table, {}).items()})
    return found


def main():
    strict = {block: describe(load(path)) for block, path in STRICT_BLOCKS.items()}
    snapshot = {
        "deepspeed_version": deepspeed.__version__,
        "generated_by": "tools/snapshot_deepspeed_schema.py",
        "strict": strict,
        "lenient": lenient_keys(),
        "removed": removed_keys(),
    }
    json.dump(snapshot, sys.stdout, indent=1, sort_keys=True)
    sys.stdout.write("\n")


if __name__ == "__main__":
    main()
