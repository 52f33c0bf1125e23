"""What a live model holds, read through torch: the reward head (named the way each framework names
it), where it lives, whether it will be trained and saved, and the few buffers and storages that go
wrong. Only the head's values are read; everything else is module metadata."""

import math

import torch

from ..frameworks.checkpoint.facts import HEAD_NAMES

WRAPPERS = ("DistributedDataParallel", "DataParallel", "FullyShardedDataParallel", "OptimizedModule")


def unwrap(model):
    """(DeepSpeed engine or None, PEFT model or None, the model that owns the head)."""
    engine = model if hasattr(model, "zero_optimization_stage") and hasattr(model, "module") else None
    inner = model.module if engine is not None else model
    while type(inner).__name__ in WRAPPERS:   # accelerate / torch wrappers around the model
        inner = getattr(inner, "module", None) or getattr(inner, "_orig_mod")
    if hasattr(inner, "policy") and isinstance(getattr(inner, "value_model", None), torch.nn.Module):
        inner = inner.value_model   # TRL's PPO PolicyAndValueWrapper: the value model holds the head
    peft = inner if hasattr(inner, "peft_config") and hasattr(inner, "get_base_model") else None
    return engine, peft, (peft.get_base_model() if peft is not None else inner)


def _weighted(module) -> bool:
    return isinstance(getattr(module, "weight", None), torch.Tensor) or hasattr(module, "base_layer") \
        or hasattr(module, "original_module")


def find_head(base):
    """(prefix, module): OpenRLHF names its head by `value_head_prefix`; the others by convention."""
    prefix = getattr(base, "value_head_prefix", None)
    names = [prefix] if isinstance(prefix, str) and prefix else HEAD_NAMES
    for name in names:
        try:
            module = base.get_submodule(name)
        except AttributeError:
            continue
        if _weighted(module):
            return name, module
    return (prefix if isinstance(prefix, str) else ""), None


def _effective(module) -> tuple:
    """(weight parameter, how PEFT treats it): a modules_to_save copy, a LoRA layer, or a plain module."""
    if hasattr(module, "original_module") and hasattr(module, "modules_to_save"):
        active = [a for a in module.active_adapters if a in module.modules_to_save]
        inner = module.modules_to_save[active[0]] if active else module.original_module
        return inner.weight, "saved"
    if hasattr(module, "base_layer") and hasattr(module, "lora_A"):
        return module.base_layer.weight, "lora"
    return module.weight, "plain"


def _partitioned(weight) -> bool:
    return hasattr(weight, "ds_id") and hasattr(weight, "ds_shape")


def head_values(weight) -> list:
    """The head's values as floats; a ZeRO-3 parameter is gathered through DeepSpeed, that one alone."""
    if _partitioned(weight):
        import deepspeed
        with deepspeed.zero.GatheredParameters([weight], modifier_rank=None):
            return weight.detach().float().cpu().flatten().tolist()
    return weight.detach().float().cpu().flatten().tolist()


def _shape(weight) -> list:
    return list(weight.ds_shape if _partitioned(weight) else weight.shape)


def _config(base) -> dict:
    config = getattr(base, "config", None)
    if config is None:
        pretrained = getattr(base, "pretrained_model", None)   # TRL's value-head wrapper
        config = getattr(pretrained, "config", None)
    return config.to_dict() if hasattr(config, "to_dict") else {}


def _hidden(config: dict) -> int:
    for source in (config, config.get("text_config") or {}):
        for key in ("hidden_size", "n_embd", "d_model"):
            if isinstance(source.get(key), int):
                return source[key]
    return 0


def _quantized_uint8(model) -> list:
    """bitsandbytes 4-bit weights stored as uint8 (bnb_4bit_quant_storage left at its default)."""
    return [name for name, p in model.named_parameters()
            if type(p).__name__ == "Params4bit" and p.dtype == torch.uint8]


def _zero3(engine, params: list) -> bool:
    """ZeRO-3 is live: the engine's stage, parameters partitioned by zero.Init, or transformers' global
    HfDeepSpeedConfig (which OpenRLHF's factory holds only while it builds the model)."""
    if engine is not None:
        return engine.zero_optimization_stage() == 3
    if any(_partitioned(p) for _, p in params):
        return True
    try:
        from transformers.integrations import is_deepspeed_zero3_enabled
    except ImportError:
        return False
    return bool(is_deepspeed_zero3_enabled())


def _number(value):
    return float(value) if isinstance(value, (int, float)) and not isinstance(value, bool) else None


def _normalisation(base, config: dict) -> dict:
    mean, std = getattr(base, "mean", None), getattr(base, "std", None)
    used = bool(getattr(base, "normalize_reward", False)) and isinstance(mean, torch.Tensor) \
        and isinstance(std, torch.Tensor)
    if not used or mean.device.type == "meta" or std.device.type == "meta":
        return {"used": False}
    live_mean, live_std = float(mean.flatten()[0]), float(std.flatten()[0])
    want_mean, want_std = _number(config.get("mean")), _number(config.get("std"))
    said = "config" if want_mean is not None and want_std is not None else "constructor"   # who gives the wanted values
    if want_mean is None or want_std is None:
        want_mean, want_std = 0.0, 1.0   # OpenRLHF's RewardModel/CriticModel defaults when config has none
    wrong = not (math.isfinite(live_mean) and math.isfinite(live_std)) or not (
        math.isclose(live_mean, want_mean, rel_tol=1e-3, abs_tol=1e-6)
        and math.isclose(live_std, want_std, rel_tol=1e-3, abs_tol=1e-6))
    return {"used": True, "wrong": wrong, "mean": live_mean, "std": live_std, "want_mean": want_mean,
            "want_std": want_std, "said": said}


def _peft(peft) -> dict:
    if peft is None:
        return {"wrapped": False}
    config = next(iter(peft.peft_config.values()))
    targets = config.target_modules
    task = getattr(config, "task_type", None)
    return {"wrapped": True, "task_type": str(getattr(task, "value", task)),
            "targets": targets if isinstance(targets, str) else sorted(targets or []),
            "modules_to_save": sorted(config.modules_to_save or [])}


def describe(model) -> dict:
    """The `live` facts of one model (values of the head included, to compare with a checkpoint)."""
    engine, peft, base = unwrap(model)
    config = _config(base)
    params = list(base.named_parameters())
    prefix, module = find_head(base)
    facts = {"model": type(base).__name__, "wrapper": type(engine or peft or base).__name__,
             "params": len(params), "meta_params": sum(1 for _, p in params if p.device.type == "meta"),
             "hidden": _hidden(config), "config": config, "peft": _peft(peft), "zero3": _zero3(engine, params),
             "norm": _normalisation(base, config), "uint8_4bit": _quantized_uint8(base),
             "head": {"found": module is not None, "prefix": prefix, "values": None}}
    if module is None:
        return facts
    weight, treatment = _effective(module)
    shape = _shape(weight)
    meta = weight.device.type == "meta" and not _partitioned(weight)
    facts["head"].update(name=f"{prefix}.weight", shape=shape,
                         rows=shape[0] if len(shape) == 2 else 0, meta=meta, dtype=str(weight.dtype),
                         requires_grad=bool(weight.requires_grad), peft=treatment if peft is not None else "",
                         gathered=_partitioned(weight))
    if not meta and facts["head"]["rows"] == 1:
        facts["head"]["values"] = head_values(weight)
    return facts
