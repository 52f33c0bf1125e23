"""Snapshot DeepSpeed's config keys into rmlint/data/deepspeed_schema.json.

Usage (needs `pip install torch==2.13.0 deepspeed`; runs on a CPU, no process group):
    DS_ACCELERATOR=cpu python tools/snapshot_deepspeed_schema.py > rmlint/data/deepspeed_schema.json

Any release from 0.10 on can be read from its unpacked sdist put first on PYTHONPATH (what
tools/snapshot_deepspeed_releases.py does); releases before 0.15 describe their models with
pydantic's v1 API (0.10 - 0.11.1 import it as `pydantic`, which is pointed at `pydantic.v1` here).

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

import pydantic

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))   # the checkout's rmlint, installed or not
from rmlint.frameworks.deepspeed.schema import STRICT_BLOCKS  # noqa: E402



def load(path):
    """The model class, or None in a release that does not have it (the block was lenient then)."""
    module, name = path.split(":")
    try:
        return getattr(__import__(module, fromlist=[name]), name, None)
    except ImportError:
        return None


OLDER_HOMES = {"compile": "deepspeed.runtime.compiler:CompileConfig"}   # where a block's model lived before


def _pydantic_v1_as_pydantic():
    """DeepSpeed <= 0.11.1 imports pydantic's v1 API as `pydantic`; under pydantic 2 give it pydantic.v1."""
    import importlib.util
    spec = importlib.util.find_spec("deepspeed")
    utils = Path(spec.origin).parent / "runtime" / "config_utils.py"
    text = utils.read_text()
    if "from pydantic import" in text and "ConfigDict" not in text and pydantic.VERSION.startswith("2"):
        import importlib
        sys.modules["pydantic"] = importlib.import_module("pydantic.v1")


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


def _is_v1(model) -> bool:
    return not hasattr(model, "model_fields")


def _entry(name: str, alias, default, extra: dict) -> dict:
    """A field's default, alias and deprecation (DeepSpeed's Field(deprecated=, new_param=, new_param_fn=))."""
    entry = {"default": default}
    if alias and alias != name:
        entry["alias"] = alias
    if extra.get("deprecated"):
        entry["deprecated"] = True
        if extra.get("new_param"):
            entry["new_param"] = extra["new_param"]
        if extra.get("new_param_fn"):
            entry["converts"] = True    # the old value is converted, not just renamed
    return entry


def describe_v1(model):
    """The same description from a pydantic v1 model (DeepSpeed < 0.15)."""
    fields = {}
    for name, info in model.__fields__.items():
        extra = info.field_info.extra or {}
        entry = _entry(name, info.alias, None if info.required else plain(info.get_default()), extra)
        choices = allowed_values(info.outer_type_ if info.allow_none is False else typing.Optional[info.outer_type_])
        if choices is not None:
            entry["choices"] = choices
        for kind in ("gt", "ge"):
            bound = getattr(info.field_info, kind, None)
            if bound is None:
                bound = getattr(info.type_, kind, None)   # conint(gt=...)
            if bound is not None:
                entry[kind] = plain(bound)
        sub = info.type_ if isinstance(info.type_, type) and hasattr(info.type_, "__fields__") else None
        if sub is not None and str(getattr(sub.__config__, "extra", "")).endswith("forbid"):
            entry["fields"] = describe_v1(sub)
        fields[name] = entry
    return fields


def describe(model):
    if _is_v1(model):
        return describe_v1(model)
    fields = {}
    for name, info in model.model_fields.items():
        extra = info.json_schema_extra if isinstance(info.json_schema_extra, dict) else {}
        entry = _entry(name, info.alias, None if info.is_required() else plain(info.get_default(call_default_factory=True)),
                       extra)
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
    from deepspeed.runtime.config import DeepSpeedConfig
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


def _old_release_compat():
    """Names older DeepSpeed releases import from numpy and torch that today's releases dropped;
    only the config classes are used, so placeholders do."""
    import logging
    import numpy
    if not hasattr(numpy, "BUFSIZE"):
        numpy.BUFSIZE = 8192
    try:
        import torch.distributed.elastic.agent.server.api as elastic_api
        if not hasattr(elastic_api, "log"):
            elastic_api.log = logging.getLogger("torch.distributed.elastic")
        if not hasattr(elastic_api, "_get_socket_with_port"):
            elastic_api._get_socket_with_port = None
    except ImportError:
        pass


def main():
    out, sys.stdout = sys.stdout, sys.stderr    # DeepSpeed's logger prints to stdout (older releases)
    _pydantic_v1_as_pydantic()
    _old_release_compat()
    import deepspeed
    models = {block: load(path) or (load(OLDER_HOMES[block]) if block in OLDER_HOMES else None)
              for block, path in STRICT_BLOCKS.items()}
    strict = {block: describe(model) for block, model in models.items() if model is not None}
    snapshot = {
        "deepspeed_version": deepspeed.__version__,
        "generated_by": "tools/snapshot_deepspeed_schema.py",
        "strict": strict,
        "lenient": lenient_keys(),
        "removed": removed_keys(),
    }
    json.dump(snapshot, out, indent=1, sort_keys=True)
    out.write("\n")


if __name__ == "__main__":
    main()
