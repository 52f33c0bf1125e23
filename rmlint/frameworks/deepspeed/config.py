"""A DeepSpeed config as DeepSpeed will read it: typed values with DeepSpeed's defaults,
plus lists of what DeepSpeed rejects, ignores or renames (the facts the DS rules read)."""

import json

from .schema import AUTO_IS_A_VALUE, CHECKED_LENIENT_BLOCKS, lookup, schema

# Keys HF Trainer (transformers integrations/deepspeed.py) fills when set to "auto".
HF_FILLS = {
    "train_micro_batch_size_per_gpu", "gradient_accumulation_steps", "train_batch_size", "gradient_clipping",
    "optimizer.params.lr", "optimizer.params.betas", "optimizer.params.eps", "optimizer.params.weight_decay",
    "scheduler.params.warmup_min_lr", "scheduler.params.warmup_max_lr", "scheduler.params.warmup_num_steps",
    "scheduler.params.total_num_steps", "fp16.enabled", "bf16.enabled", "zero_optimization.reduce_bucket_size",
    "zero_optimization.stage3_prefetch_bucket_size", "zero_optimization.stage3_param_persistence_threshold",
}
# ... and accelerate's DeepSpeedPlugin fills these from its own settings.
ACCELERATE_FILLS = {
    "zero_optimization.stage", "zero_optimization.offload_optimizer.device", "zero_optimization.offload_param.device",
    "zero_optimization.offload_optimizer.nvme_path", "zero_optimization.offload_param.nvme_path",
    "zero_optimization.stage3_gather_16bit_weights_on_model_save",
}
BATCH_KEYS = ("train_batch_size", "train_micro_batch_size_per_gpu", "gradient_accumulation_steps")


def _suggest(key: str, names) -> str:
    from ...suggest import suggest
    return suggest(key, names) or ""


def _coerces(text: str, expected: str) -> bool:
    """Whether pydantic (lax mode) turns the string into the field's type: DeepSpeed accepts "3"."""
    text = text.strip()
    if expected == "bool":
        return text.lower() in {"0", "1", "true", "false", "yes", "no", "on", "off", "t", "f", "y", "n"}
    try:
        value = float(text)
    except ValueError:
        return False
    return expected == "float" or value.is_integer()


class _Inspector:
    def __init__(self, release_schema=None):
        self.items = {k: [] for k in ("unknown", "ignored", "deprecated", "removed", "autos", "slips", "conflicts",
                                      "duplicates", "invalid", "beyond")}
        self.schema = release_schema or schema()

    def note(self, kind: str, path: tuple, **extra):
        self.items[kind].append({"path": ".".join(str(p) for p in path), "key": str(path[-1]), "releases": [],
                                 **extra})

    def top(self, config: dict):
        s = self.schema
        for key, value in config.items():
            path = (key,)
            if key in s.removed:
                self.note("removed", path, error=s.removed[key])
            elif key in s.strict:
                if isinstance(value, dict):
                    self.strict(value, s.strict[key], path)
            elif key in s.top_level:
                children = s.lenient_children(key) if key in CHECKED_LENIENT_BLOCKS else set()
                if children and isinstance(value, dict):
                    for sub in value:
                        if sub not in children:
                            self.note("ignored", path + (sub,), suggestion=_suggest(sub, children), block=key)
            elif not (str(key).startswith("_") or str(key).lower().startswith("comment")):
                self.note("ignored", path, suggestion=_suggest(str(key), s.top_level), block="")
            if key in BATCH_KEYS and isinstance(value, str) and value != "auto":
                self.note("slips", path, value=value, expected="int", accepted=False)

    def strict(self, block: dict, fields: dict, path: tuple):
        names = set(fields) | {f.alias for f in fields.values() if f.alias}
        seen = {}
        for key, value in block.items():
            full = path + (key,)
            dotted = ".".join(full)
            if dotted in self.schema.removed:
                self.note("removed", full, error=self.schema.removed[dotted])
                continue
            field = lookup(fields, key)
            if field is None:
                self.note("unknown", full, suggestion=_suggest(key, names), block=path[0])
                continue
            if field.name in seen:
                self.note("conflicts", full, other=seen[field.name], form="alias")
            seen[field.name] = key
            if field.deprecated:
                replacement = fields.get(field.new_param or "")
                self.note("deprecated", full, new=(replacement.alias or replacement.name) if replacement else "",
                          renamable=bool(replacement) and not field.converts)
            if isinstance(value, str) and value != "auto" and isinstance(field.default, (bool, int, float)) \
                    and field.default is not None:
                expected = type(field.default).__name__
                self.note("slips", full, value=value, expected=expected, accepted=_coerces(value, expected))
            else:
                self.invalid(value, field, full)
            if field.fields and isinstance(value, dict):
                self.strict(value, field.fields, full)
        for key in list(block):
            field = lookup(fields, key)
            if field and field.deprecated and field.new_param:
                replacement = lookup(fields, field.new_param)
                if replacement and ({replacement.name, replacement.alias} & set(block)):
                    self.note("conflicts", path + (key,), other=field.new_param, form="replacement")

    def invalid(self, value, field, path: tuple):
        """A value outside what DeepSpeed's model accepts: not one of an enum's values, or out of bounds."""
        if value == "auto" or isinstance(value, dict):
            return
        number = value if isinstance(value, (int, float)) and not isinstance(value, bool) else None
        if field.choices is not None and not any(value == c and type(value) is not bool or value is c
                                                 for c in field.choices):
            choices = ["null" if c is None else json.dumps(c) for c in field.choices]
            self.note("invalid", path, value=json.dumps(value), choices=choices)
        elif number is not None and field.gt is not None and not number > field.gt:
            self.note("invalid", path, value=json.dumps(value), bound="gt", limit=field.gt)
        elif number is not None and field.ge is not None and not number >= field.ge:
            self.note("invalid", path, value=json.dumps(value), bound="ge", limit=field.ge)

    def autos(self, value, path: tuple = ()):
        if isinstance(value, dict):
            for key, sub in value.items():
                self.autos(sub, path + (key,))
        elif value == "auto" and path and path[-1] not in AUTO_IS_A_VALUE and "zenflow" not in path:
            dotted = ".".join(str(p) for p in path)
            filled = "hf" if dotted in HF_FILLS else "accelerate" if dotted in ACCELERATE_FILLS else ""
            self.note("autos", path, filled_by=filled)


def _number(value, default, cast):
    if isinstance(value, bool):
        return cast(value)
    if isinstance(value, float) and value != value or value in (float("inf"), float("-inf")):
        return default          # NaN/Infinity (JSON accepts them): no number a rule can compute with
    if isinstance(value, (int, float)):
        return cast(value)
    if isinstance(value, str):
        try:
            return cast(float(value)) if cast is int else cast(value)
        except (ValueError, OverflowError):   # "inf" parses as a float but is no integer
            return default
    return default


def _flag(value, default=False) -> bool:
    if isinstance(value, bool):
        return value
    if isinstance(value, str):
        return {"true": True, "false": False, "yes": True, "no": False, "1": True, "0": False}.get(value.lower(), default)
    if isinstance(value, (int, float)):
        return bool(value)
    return default


def _get(block: dict, fields: dict, name: str):
    """A strict field by name, alias or deprecated name; returns (value, written key) or (None, None)."""
    field = fields[name]
    for key in (name, field.alias, *[f.name for f in fields.values() if f.new_param == name]):
        if key and key in block:
            return block[key], key
    return None, None


def normalize(config: dict, consumer: str) -> tuple:
    """(facts for `ds`, fact paths whose value is unknown, fact path -> written key path)."""
    from .versioned import inspect
    items = inspect(config, _Inspector)
    zero_fields = schema().strict["zero_optimization"]
    unknown, written = set(), {}

    zero = config.get("zero_optimization")
    if isinstance(zero, bool):  # legacy: true means stage 1
        zero = {"stage": 1 if zero else 0}
    zero = zero if isinstance(zero, dict) else {}

    def value(block, fields, name, fact, default, prefix=()):
        raw, key = _get(block, fields, name) if fields else (block.get(name), name if name in block else None)
        if key is not None:
            written[fact] = prefix + (key,)
        if raw == "auto":
            unknown.add(fact)
            return default, True
        return (default if raw is None else raw), key is not None

    def offload(name):
        block = zero.get(name) if isinstance(zero.get(name), dict) else {}
        if name == "offload_optimizer" and _flag(zero.get("cpu_offload")) and not block:
            block = {"device": "cpu"}
        if name == "offload_param" and _flag(zero.get("cpu_offload_param")) and not block:
            block = {"device": "cpu"}
        device, _ = value(block, None, "device", f"ds.zero_optimization.{name}.device", "none",
                          ("zero_optimization", name))
        return {"device": str(device or "none"), "nvme_path": str(block.get("nvme_path") or ""),
                "ratio": _number(block.get("ratio"), 1.0, float), "pin_memory": _flag(block.get("pin_memory"), True)}

    def zero_value(name, default, cast):
        raw, _ = value(zero, zero_fields, name, f"ds.zero_optimization.{name}", default, ("zero_optimization",))
        return cast(raw, default) if cast is _flag else _number(raw, default, cast)

    stage = zero_value("stage", 0, int)
    gather, gather_written = value(zero, zero_fields, "gather_16bit_weights_on_model_save",
                                   "ds.zero_optimization.stage3_gather_16bit_weights_on_model_save", False,
                                   ("zero_optimization",))
    facts = {
        "present": True,
        "consumer": consumer,
        "zero_optimization": {
            "stage": stage,
            "offload_param": offload("offload_param"),
            "offload_optimizer": offload("offload_optimizer"),
            "stage3_gather_16bit_weights_on_model_save": _flag(gather),
            "gather_written": bool(gather_written),
            "overlap_comm": zero_value("overlap_comm", stage == 3, _flag),
            "reduce_scatter": zero_value("reduce_scatter", True, _flag),
            "zero_hpz_partition_size": zero_value("zero_hpz_partition_size", 1, int),
            "zero_quantized_weights": zero_value("zero_quantized_weights", False, _flag),
            "zero_quantized_gradients": zero_value("zero_quantized_gradients", False, _flag),
            "compute_grad_norm": zero_value("compute_grad_norm", True, _flag),
        },
        "optimizer": _named_block(config.get("optimizer")),
        "scheduler": _named_block(config.get("scheduler")),
        "prescale_gradients": _flag(value(config, None, "prescale_gradients", "ds.prescale_gradients", False)[0]),
        "gradient_predivide_factor": _number(config.get("gradient_predivide_factor"), 1.0, float),
        "gradient_allreduce_op": str(config.get("gradient_allreduce_op") or "mean"),
        "communication_data_type": str(config.get("communication_data_type") or ""),
        "items": items,
    }
    for key in BATCH_KEYS + ("gradient_clipping",):
        raw, _ = value(config, None, key, f"ds.{key}", None)
        facts[key] = _number(raw, 1.0, float) if key == "gradient_clipping" else _number(raw, 0, int)
    for block in ("fp16", "bf16", "bfloat16"):
        section = config.get(block) if isinstance(config.get(block), dict) else {}
        enabled, _ = value(section, None, "enabled", f"ds.{block}.enabled", False, (block,))
        facts[block] = {"enabled": _flag(enabled), "present": block in config}
    return facts, unknown, written


def _named_block(block) -> dict:
    block = block if isinstance(block, dict) else {}
    params = block.get("params") if isinstance(block.get("params"), dict) else {}
    return {"present": bool(block), "type": str(block.get("type") or ""), "params": params}
