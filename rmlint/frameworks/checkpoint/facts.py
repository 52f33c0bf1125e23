"""A Checkpoint turned into the `ckpt` facts rules read: format, config, the reward head (name,
shape, dtype, values), LoRA layout, quantisation, shards."""

import os

from ...fact_shapes import default
from .defaults import defaults, head as head_defaults, lora as lora_defaults
from .tensors import read_bytes
from .values import MAX_HEAD_BYTES, decode, init_match, statistics

# Head module names by framework (checkpoints.md section 2): OpenRLHF score/value_head (or a custom
# prefix), HF score/classifier, TRL and LLaMA-Factory v_head.summary, DeepSpeed-Chat v_head.
HEAD_NAMES = ("score", "value_head", "v_head.summary", "v_head", "classifier.out_proj", "classifier", "reward_head")
WRAPPERS = ("base_model.model.", "pretrained_model.")    # PEFT adapters; TRL/LLaMA-Factory ZeRO-3 saves
OPENRLHF_CLASSES = ("RewardModel", "CriticModel", "LLMForSequenceRegression")   # the last: OpenRLHF < 0.3
SEQ_CLS_SAVES = ("classifier", "score")                  # peft_model.py: SEQ_CLS adds these to modules_to_save

def _strip(name: str) -> str:
    for wrapper in WRAPPERS:
        if name.startswith(wrapper):
            return name[len(wrapper):]
    return name


def _heads(tensors: list, names: tuple) -> dict:
    """prefix -> {"weight": Tensor | None, "lora": bool} for every head-like module present."""
    found = {}
    for tensor in tensors:
        key = _strip(tensor.name)
        for prefix in names:
            if key == f"{prefix}.weight":
                found.setdefault(prefix, {"weight": None, "lora": False})["weight"] = tensor
            elif key.startswith(f"{prefix}.lora_"):
                found.setdefault(prefix, {"weight": None, "lora": False})["lora"] = True
    return found


def _size(value) -> int:
    """A positive size from config.json, or 0 (a negative, boolean or absurd value is no size)."""
    return value if isinstance(value, int) and not isinstance(value, bool) and 0 < value < 2 ** 40 else 0


def _mapping(value) -> dict:
    return value if isinstance(value, dict) else {}


def _strings(value) -> list:
    """A list of strings from config.json (`architectures`); anything else is no list."""
    return [v for v in value if isinstance(v, str)] if isinstance(value, list) else []


def _hidden(config: dict) -> int:
    for source in (config, _mapping(config.get("text_config"))):
        for key in ("word_embed_proj_dim", "hidden_size", "n_embd", "d_model"):
            if _size(source.get(key)):
                return source[key]
    return 0


def _quantization(config: dict, tensors: list) -> dict:
    """`ckpt.quantization`: the method, bits and (4-bit bitsandbytes) scheme, double quant and storage."""
    qc = _mapping(config.get("quantization_config"))
    names = [t.name for t in tensors]
    four = qc.get("load_in_4bit") or any(".quant_state.bitsandbytes__" in n for n in names)
    eight = qc.get("load_in_8bit") or any(n.endswith(".SCB") for n in names)
    quantization = default("ckpt")["quantization"]
    if not (qc or four or eight):
        return quantization
    quantization.update(method=str(qc.get("quant_method", "bitsandbytes")), bits=4 if four else 8 if eight else 0)
    if four:
        scheme = qc.get("bnb_4bit_quant_type") or next((n.rsplit("__", 1)[1] for n in names
                                                        if ".quant_state.bitsandbytes__" in n), "")
        storage = qc.get("bnb_4bit_quant_storage")
        quantization.update(scheme=str(scheme) if scheme else "", double_quant=bool(qc.get("bnb_4bit_use_double_quant")),
                            storage=str(storage) if storage else "")
    return quantization


def _values(tensor, hidden: int, initializer_range: float, head: dict):
    values = decode(read_bytes(tensor, MAX_HEAD_BYTES) or b"", tensor.dtype) if tensor.numel else None
    if not values:
        return
    stats = statistics(values)
    head["std"] = float(f"{stats['std']:.6g}")
    head["zeros"] = stats["zeros"] == stats["n"]
    head["nonfinite"] = stats["nonfinite"] > 0
    head["values"], head["kurtosis"] = stats["n"], round(stats["kurtosis"], 6)
    if hidden:
        head["init_ratio"] = round(stats["std"] * (hidden + 1), 6)     # 1.0: exactly OpenRLHF's init 1/(h+1)
    if head["zeros"]:
        head["state"] = "zeros"
    elif head["nonfinite"]:
        head["state"], head["nonfinite_values"] = "nonfinite", stats["nonfinite"]
    elif stats["constant"]:
        head["zeros"], head["state"], head["value"] = True, "constant", stats["mean"]
    head["init"], head["confidence"] = init_match(stats, hidden, initializer_range)


def _kind(name: str, file: str) -> str:
    """Whose head it is, by its module name (and file): an enum the report words."""
    module = _strip(name).rsplit(".", 1)[0]
    if module == "v_head.summary":
        return "llamafactory-value-head" if file.startswith("value_head.") else "trl-value-head"
    return {"v_head": "deepspeed-chat-head", "classifier": "classifier", "classifier.out_proj": "classifier",
            "score": "score"}.get(module, "openrlhf-value-head")


def _head_facts(tensor, hidden: int, initializer_range: float) -> dict:
    head = head_defaults()
    shape = list(tensor.shape)
    head.update(kind=_kind(tensor.name, os.path.basename(tensor.file)), found=True, any=True, name=tensor.name, file=os.path.basename(tensor.file), shape=shape,
                dtype=tensor.dtype, rows=shape[0] if len(shape) == 2 else 0,
                cols=shape[-1] if shape else 0)
    if tensor.numel == 0:
        head["empty"], head["state"] = True, "empty"
    elif hidden and head["cols"] != hidden and tensor.numel < hidden:
        head["placeholder"], head["state"] = True, "placeholder"
    else:
        head["shape_mismatch"] = bool(hidden) and head["cols"] != hidden
        _values(tensor, hidden, initializer_range, head)
    head["bad_values"] = head["empty"] or head["placeholder"] or head["zeros"] or head["nonfinite"]
    head["trained"] = not head["bad_values"] and head["init"] not in ("openrlhf",)
    return head


def _adapter(adapter: dict, prefix: str, heads: dict) -> dict:
    lora = lora_defaults()
    mts = adapter.get("modules_to_save") if isinstance(adapter.get("modules_to_save"), list) else []
    task = adapter.get("task_type") or ""
    saves = list(mts) + (list(SEQ_CLS_SAVES) if task == "SEQ_CLS" else [])
    targets = adapter.get("target_modules")
    lora.update(r=adapter.get("r") if isinstance(adapter.get("r"), int) else 0, task_type=str(task),
                modules_to_save=[str(m) for m in mts], base=str(adapter.get("base_model_name_or_path") or ""),
                saves_head=any(isinstance(m, str) and (prefix == m or prefix.endswith("." + m)) for m in saves),
                targets_head=targets == "all-linear" or (isinstance(targets, list) and prefix in targets),
                only_lora=bool(heads.get(prefix, {}).get("lora")) and not heads.get(prefix, {}).get("weight"))
    return lora


def _expected_prefix(config: dict, adapter: dict, heads: dict, use: str, flag_prefix) -> tuple:
    """(prefix, where it comes from: config | flag | adapter | openrlhf-default | model-class | checkpoint,
    whether a head is expected at all)."""
    if isinstance(config.get("value_head_prefix"), str):
        return config["value_head_prefix"], "config", use in ("inspect", "reward", "critic")
    if use != "inspect":
        return (flag_prefix or "score"), "flag", use in ("reward", "critic")
    classes = _strings(config.get("architectures")) + [str(_mapping(adapter.get("auto_mapping")).get("base_model_class")
                                                                 or "")]
    present = next(iter(heads), None)
    if any(c in OPENRLHF_CLASSES for c in classes):
        # a full save without value_head_prefix loads with the flag's default, `score` since OpenRLHF 0.5.4;
        # an adapter does not say which prefix its launch used, so take the head it names
        targets = [*(adapter.get("target_modules") if isinstance(adapter.get("target_modules"), list) else []),
                   *(adapter.get("modules_to_save") if isinstance(adapter.get("modules_to_save"), list) else [])]
        named = next((p for p in ("score", "value_head") if p in heads or p in targets), None) if adapter else None
        if named:
            return named, "adapter", True
        return "score", "openrlhf-default", True
    if any(str(c).endswith("ForSequenceClassification") for c in classes) or adapter.get("task_type") == "SEQ_CLS":
        return next((p for p in ("score", "classifier.out_proj", "classifier") if p in heads), "score"), \
            "model-class", True
    return present or "", "checkpoint", bool(present)


def describe(checkpoint, use: str = "inspect", flag_prefix=None, normalize=None) -> dict:
    """`ckpt` facts of one checkpoint for one use: "inspect", or the role that loads it."""
    facts = defaults()
    config = checkpoint.config.data if checkpoint.config and isinstance(checkpoint.config.data, dict) else {}
    adapter = checkpoint.adapter.data if checkpoint.adapter and isinstance(checkpoint.adapter.data, dict) else {}
    tensors = checkpoint.tensors + checkpoint.head_files
    names = tuple(dict.fromkeys(n for n in (config.get("value_head_prefix"), flag_prefix, *HEAD_NAMES)
                                if isinstance(n, str) and n))
    heads = _heads(tensors, names)
    prefix, source, expected = _expected_prefix(config, adapter, heads, use, flag_prefix)
    hidden = _hidden(config)
    id2label = config.get("id2label")
    facts.update(available=True, path=checkpoint.path, use=use, format=checkpoint.format,
                 adapter=checkpoint.format == "peft-adapter", deepspeed=bool(checkpoint.deepspeed),
                 tensors=len(tensors), size=checkpoint.size, has_config=bool(config),
                 architectures=", ".join(_strings(config.get("architectures"))), hidden_size=hidden,
                 num_labels=len(id2label) if isinstance(id2label, dict) and id2label else 2,
                 prefix=prefix, prefix_from=source, head_expected=expected,
                 has_stats=isinstance(config.get("mean"), (int, float)) and isinstance(config.get("std"), (int, float)),
                 normalize_reward=bool(config.get("normalize_reward")) if normalize is None else bool(normalize))
    if checkpoint.deepspeed:
        facts.update(ds_stage=checkpoint.deepspeed["stage"], ds_ranks=checkpoint.deepspeed["ranks"])
    facts["quantization"] = _quantization(config, tensors)
    facts["quantized"] = bool(facts["quantization"]["method"])
    given = config.get("initializer_range")
    initializer_range = given if isinstance(given, float) and 0 < given < 1e6 else 0.02
    facts["initializer_range"] = initializer_range
    own = heads.get(prefix, {}).get("weight") if prefix else None
    if own is not None:
        facts["head"] = _head_facts(own, hidden, initializer_range)
    others = [h["weight"] for p, h in heads.items() if p != prefix and h["weight"] is not None]
    facts["other_heads"] = [t.name for t in others]
    if others:
        facts["other_prefix"] = _strip(others[0].name)[: -len(".weight")]
        if own is None:
            facts["head"]["any"] = True
            facts["head"]["trained"] = _head_facts(others[0], hidden, initializer_range)["trained"]
    facts["lora"] = _adapter(adapter, prefix, heads)
    _shards_and_empties(checkpoint, facts, prefix)
    facts["shards"] = len(checkpoint.files)
    if checkpoint.deepspeed:
        facts["ds_tag"] = checkpoint.deepspeed["tag"]
    return facts


def _shards_and_empties(checkpoint, facts: dict, prefix: str):
    missing = checkpoint.missing_shards
    facts["missing_shards"] = sorted(missing)
    facts["head_missing_shard"] = any(k == f"{prefix}.weight" for keys in missing.values() for k in keys)
    facts["missing"] = [{"shard": shard, "tensors": len(keys), "head": f"{prefix}.weight" in keys}
                        for shard, keys in sorted(missing.items())]
    facts["misplaced"] = checkpoint.misplaced[:20]
    weights = checkpoint.tensors + checkpoint.head_files
    empty = [t for t in weights if t.numel == 0]
    facts["empty_tensors"] = len(empty)
    facts["empty_example"] = empty[0].name if empty else ""
    if checkpoint.files and not weights:
        facts["tensorless_file"] = os.path.basename(checkpoint.files[0])

