#!/usr/bin/env python3
"""Build the tiny reward-model checkpoints that rmlint's checkpoint tests read.

Each fixture is saved by the real libraries (transformers `save_pretrained`, peft `save_pretrained`,
`safetensors.torch.save_file`, `torch.save`, bitsandbytes for the 4-bit one) from Llama models with
hidden size 64 and 2 layers, the way the named framework saves it. Values are seeded, not trained,
so the same library versions give the same bytes. MANIFEST.json records what each fixture is, the
verdict rmlint must give, and a digest per file.

    python tools/make_checkpoint_fixtures.py tests/fixtures/checkpoints          # write
    python tools/make_checkpoint_fixtures.py tests/fixtures/checkpoints --check  # rebuild in a temp dir, compare

Needs torch==2.13.0, transformers, peft, safetensors and bitsandbytes (CPU is enough); the pins
are in pyproject's `test` extra. Digests ignore what changes between runs by design: library
version stamps in JSON, PEFT's model card, the order of set-valued PEFT lists, and the random
`.data/serialization_id` torch writes into every zip.
"""

from __future__ import annotations

import argparse
import hashlib
import io
import json
import os
import pickle
import shutil
import struct
import sys
import tempfile
import zipfile
from pathlib import Path

HIDDEN, LAYERS, VOCAB = 64, 2, 1000
OPENRLHF_INIT_STD = 1 / (HIDDEN + 1)     # openrlhf/models/model.py: normal_(0, 1/(hidden_size+1))
BUDGET = 1 << 20                          # bytes per fixture

# name -> (what it is, the head as stored or None, rmlint's verdict on `rmlint inspect`)
FIXTURES = {
    "base_sft": ("LlamaForCausalLM saved by save_pretrained: an SFT model, no reward head", None, "warning"),
    "openrlhf_rm_full": ("OpenRLHF train_rm full save: model.* + value_head.weight, config with "
                         "value_head_prefix/normalize_reward/mean/std", "value_head.weight", "ok"),
    "openrlhf_rm_missing_head": ("openrlhf_rm_full without value_head.weight in the state dict", None, "error"),
    "openrlhf_rm_prefix_mismatch": ("RM whose head is score.weight and whose config.json has no value_head_prefix",
                                    "score.weight", "ok"),
    "openrlhf_rm_value_head_no_prefix": ("RM whose head is value_head.weight (OpenRLHF < 0.5.4 naming) and whose "
                                         "config.json has no value_head_prefix", "value_head.weight", "error"),
    "hf_seqcls": ("LlamaForSequenceClassification(num_labels=1)", "score.weight", "ok"),
    "hf_seqcls_2labels": ("LlamaForSequenceClassification with the default 2 labels", "score.weight", "error"),
    "peft_lora_value_head_saved": ("LoRA q/v on an OpenRLHF-style RM with modules_to_save=['value_head']",
                                   "base_model.model.value_head.weight", "ok"),
    "peft_lora_no_head": ("LoRA q/v on an OpenRLHF-style RM, no modules_to_save (OpenRLHF's LoraConfig)", None, "error"),
    "peft_lora_head_only_lora": ("LoRA all-linear (OpenRLHF's default): the head is LoRA-wrapped, only "
                                 "value_head.lora_A/B saved", None, "error"),
    "peft_seqcls": ("LoRA task_type=SEQ_CLS on LlamaForSequenceClassification: score saved",
                    "base_model.model.score.weight", "ok"),
    "peft_seqcls_value_head": ("LoRA task_type=SEQ_CLS on a value_head RM: SEQ_CLS adds score/classifier, "
                               "not value_head", None, "error"),
    "peft_zero3_empty": ("adapter whose tensors are all [0]: save_pretrained under ZeRO-3 (OpenRLHF #682)",
                         "base_model.model.value_head.weight", "error"),
    "peft_no_tensors": ("adapter_model.safetensors with no tensors (trl#4416, peft#2892)", None, "error"),
    "peft_zero3_bin": ("OpenRLHF ZeRO-3 LoRA save: adapter_model.bin only (safetensors deleted)",
                       "base_model.model.value_head.weight", "ok"),
    "sharded": ("openrlhf_rm_full in 3 shards + model.safetensors.index.json", "value_head.weight", "ok"),
    "sharded_missing_shard": ("sharded without the shard that holds the head", "value_head.weight", "error"),
    "sharded_wrong_map": ("sharded whose index maps value_head.weight to shard 1", "value_head.weight", "warning"),
    "untrained_head": ("full RM whose head is exactly OpenRLHF's init draw N(0, 1/(h+1))", "value_head.weight",
                       "warning"),
    "zero_head": ("full RM whose head is all zeros", "value_head.weight", "error"),
    "foreign_head": ("full RM whose value_head.weight is [1, 128], copied from a model with another hidden size",
                     "value_head.weight", "error"),
    "zero3_empty_head": ("every tensor [0]: state dict taken under ZeRO-3 without gathering", "value_head.weight",
                         "error"),
    "dschat_rm_bin": ("DeepSpeed-Chat step-2 RM: torch.save of rwtransformer.* + v_head.weight", "v_head.weight",
                      "ok"),
    "bin_sharded": ("pytorch_model-0000k-of-00002.bin + index (transformers 4.x layout)", "value_head.weight", "ok"),
    "trl_valuehead_full": ("TRL AutoModelForCausalLMWithValueHead full save: LM keys + v_head.summary.*",
                           "v_head.summary.weight", "ok"),
    "llamafactory_lora_rm": ("LLaMA-Factory LoRA RM: CAUSAL_LM adapter + value_head.safetensors",
                             "v_head.summary.weight", "ok"),
    "qlora_4bit": ("bitsandbytes NF4 double-quant save of an OpenRLHF-style RM", "value_head.weight", "ok"),
    "deepspeed_zero_ckpt": ("layout of a DeepSpeed ZeRO-3 engine checkpoint: latest + global_step10/ with "
                            "zero_pp_rank_*; no HF weights", None, "error"),
    "hostile": ("broken and hostile files: truncated, huge header length, header not JSON, overlapping and "
                "out-of-file offsets, a hole, a shape that does not fit, binary garbage, a pickle calling "
                "os.system", None, "error"),
    "peft_lora_score_all_linear": ("LoRA all-linear on an RM with OpenRLHF's default prefix `score`: only "
                                   "score.lora_A/B saved", None, "error"),
    "peft_lora_score_saved": ("LoRA q/v on a `score` RM with modules_to_save=['score'] (OpenRLHF PR #1342)",
                              "base_model.model.score.weight", "ok"),
}


# ----------------------------------------------------------------------------- model building
def _setup():
    global torch, nn
    import torch
    import torch.nn as nn
    import transformers
    transformers.logging.set_verbosity_error()   # LOAD REPORTs for deliberately missing heads
    transformers.logging.disable_progress_bar()
    torch.set_num_threads(1)


def llama_config(**overrides):
    from transformers import LlamaConfig
    values = dict(hidden_size=HIDDEN, intermediate_size=128, num_hidden_layers=LAYERS, num_attention_heads=4,
                  num_key_value_heads=2, vocab_size=VOCAB, max_position_embeddings=128, pad_token_id=0,
                  bos_token_id=1, eos_token_id=2, tie_word_embeddings=False)
    values.update(overrides)
    return LlamaConfig(**values)


def reward_model_class(prefix: str):
    """openrlhf/models/model.py::_get_reward_model: the AutoModel body under base_model_prefix, a
    bias-free [1, hidden] head named by the prefix, mean/std as non-persistent buffers."""
    from transformers import LlamaModel, LlamaPreTrainedModel

    class RewardModel(LlamaPreTrainedModel):
        def __init__(self, config):
            super().__init__(config)
            setattr(self, self.base_model_prefix, LlamaModel(config))
            self.value_head_prefix = prefix
            setattr(self, prefix, nn.Linear(config.hidden_size, 1, bias=False))
            self.register_buffer("mean", torch.zeros(1), persistent=False)
            self.register_buffer("std", torch.ones(1), persistent=False)
            self.post_init()

    RewardModel.__module__ = "openrlhf.models.model"   # PEFT records it as auto_mapping.parent_library
    return RewardModel


def draw(shape, std, seed, dtype=None):
    g = torch.Generator().manual_seed(seed)
    values = torch.randn(*shape, generator=g) * std
    return values.to(dtype) if dtype is not None else values


def trained_head(rows=1):
    """A stand-in for a trained head: far from every init distribution, a few large dimensions."""
    w = draw((rows, HIDDEN), 0.06, seed=7)
    w[:, [3, 17, 42]] *= 5.0
    return w


def reward_model(prefix="value_head", stats=True, head=None):
    """An RM built from base_sft as train_rm does (init_value_head=True), bf16."""
    from transformers import AutoConfig
    config = AutoConfig.from_pretrained("base_sft")
    config.normalize_reward = stats
    if stats:
        config.mean, config.std = 0.1234, 1.5678
    model = reward_model_class(prefix).from_pretrained("base_sft", config=config, dtype=torch.bfloat16)
    model.config.use_cache = False
    with torch.no_grad():
        getattr(model, prefix).weight.copy_(draw((1, HIDDEN), OPENRLHF_INIT_STD, seed=1234) if head is None else head)
    return model


def save_rm(model, out, prefix="value_head", write_prefix=True, **kwargs):
    """train_rm: value_head_prefix goes into config.json, then save_pretrained."""
    if write_prefix:
        model.config.value_head_prefix = prefix
    model.save_pretrained(out, **kwargs)


def lora(model, modules_to_save=None, target_modules=("q_proj", "v_proj"), task_type=None):
    from peft import LoraConfig, get_peft_model
    targets = target_modules if isinstance(target_modules, str) else list(target_modules)
    peft_model = get_peft_model(model, LoraConfig(r=4, lora_alpha=8, lora_dropout=0.0, bias="none",
                                                  task_type=task_type, target_modules=targets,
                                                  modules_to_save=modules_to_save))
    with torch.no_grad():   # PEFT starts lora_B at zeros; training moves it
        for i, (name, p) in enumerate(sorted(peft_model.named_parameters())):
            if ".lora_B." in name:
                p.copy_(draw(tuple(p.shape), 0.01, 11 + i, p.dtype))
    return peft_model


def set_saved_head(peft_model, prefix):
    with torch.no_grad():
        getattr(peft_model.base_model.model, prefix).modules_to_save["default"].weight.copy_(trained_head())


# ----------------------------------------------------------------------------- fixtures
def fx_base_sft(out):
    from transformers import LlamaForCausalLM
    torch.manual_seed(0)
    LlamaForCausalLM(llama_config()).to(torch.bfloat16).save_pretrained(out)


def fx_openrlhf_rm_full(out):
    save_rm(reward_model(head=trained_head()), out)


def fx_openrlhf_rm_missing_head(out):
    model = reward_model(head=trained_head())
    state = {k: v for k, v in model.state_dict().items() if not k.startswith("value_head.")}
    save_rm(model, out, state_dict=state)


def fx_openrlhf_rm_prefix_mismatch(out):
    save_rm(reward_model("score", stats=False, head=trained_head()), out, "score", write_prefix=False)


def fx_openrlhf_rm_value_head_no_prefix(out):
    save_rm(reward_model("value_head", head=trained_head()), out, write_prefix=False)


def _seqcls(out, **labels):
    from transformers import LlamaForSequenceClassification
    torch.manual_seed(0)
    model = LlamaForSequenceClassification(llama_config(**labels))
    with torch.no_grad():
        model.score.weight.copy_(trained_head(rows=model.config.num_labels))
    model.save_pretrained(out)


def fx_hf_seqcls(out):
    _seqcls(out, num_labels=1)


def fx_hf_seqcls_2labels(out):
    _seqcls(out)


def fx_peft_lora_value_head_saved(out):
    model = lora(reward_model(), modules_to_save=["value_head"])
    set_saved_head(model, "value_head")
    model.save_pretrained(out)


def fx_peft_lora_no_head(out):
    lora(reward_model()).save_pretrained(out)


def fx_peft_lora_head_only_lora(out):
    lora(reward_model(), target_modules="all-linear").save_pretrained(out)


def fx_peft_lora_score_all_linear(out):
    lora(reward_model("score"), target_modules="all-linear").save_pretrained(out)


def fx_peft_lora_score_saved(out):
    model = lora(reward_model("score"), modules_to_save=["score"])
    set_saved_head(model, "score")
    model.save_pretrained(out)


def fx_peft_seqcls(out):
    from transformers import LlamaForSequenceClassification
    base = LlamaForSequenceClassification.from_pretrained("base_sft", num_labels=1, dtype=torch.bfloat16)
    model = lora(base, task_type="SEQ_CLS")
    set_saved_head(model, "score")
    model.save_pretrained(out)


def fx_peft_seqcls_value_head(out):
    lora(reward_model(), task_type="SEQ_CLS").save_pretrained(out)


def _emptied(out, name):
    """Rewrite a safetensors file with every tensor replaced by an empty one of the same dtype."""
    from safetensors import safe_open
    from safetensors.torch import save_file
    path = out / name
    with safe_open(str(path), "pt") as f:
        empty = {k: torch.empty(0, dtype=f.get_tensor(k).dtype) for k in f.keys()}
    save_file(empty, str(path), metadata={"format": "pt"})


def fx_peft_zero3_empty(out):
    fx_peft_lora_value_head_saved(out)
    _emptied(out, "adapter_model.safetensors")


def fx_peft_no_tensors(out):
    from safetensors.torch import save_file
    fx_peft_lora_value_head_saved(out)
    save_file({}, str(out / "adapter_model.safetensors"), metadata={"format": "pt"})


def fx_peft_zero3_bin(out):
    """deepspeed.py::save_model under ZeRO-3: torch.save(get_peft_model_state_dict(...), adapter_model.bin),
    then adapter_model.safetensors is removed."""
    from peft import get_peft_model_state_dict
    model = lora(reward_model(), modules_to_save=["value_head"])
    set_saved_head(model, "value_head")
    model.save_pretrained(out)
    torch.save(get_peft_model_state_dict(model), out / "adapter_model.bin")
    (out / "adapter_model.safetensors").unlink()


def fx_sharded(out):
    save_rm(reward_model(head=trained_head()), out, max_shard_size="100KB")


def fx_sharded_missing_shard(out):
    fx_sharded(out)
    index = json.loads((out / "model.safetensors.index.json").read_text())
    (out / index["weight_map"]["value_head.weight"]).unlink()


def fx_sharded_wrong_map(out):
    fx_sharded(out)
    path = out / "model.safetensors.index.json"
    index = json.loads(path.read_text())
    index["weight_map"]["value_head.weight"] = "model-00001-of-00003.safetensors"
    path.write_text(json.dumps(index, indent=2, sort_keys=True) + "\n")


def fx_untrained_head(out):
    save_rm(reward_model(), out)          # the head is left at train_rm's init draw


def fx_zero_head(out):
    save_rm(reward_model(head=torch.zeros(1, HIDDEN)), out)


def fx_foreign_head(out):
    from safetensors.torch import save_file
    model = reward_model(head=trained_head())
    model.config.value_head_prefix = "value_head"
    state = {**model.state_dict(), "value_head.weight": draw((1, 2 * HIDDEN), 0.06, 9, torch.bfloat16)}
    out.mkdir(parents=True, exist_ok=True)
    save_file({k: v.contiguous() for k, v in state.items()}, str(out / "model.safetensors"), metadata={"format": "pt"})
    model.config.architectures = ["RewardModel"]
    model.config.to_json_file(str(out / "config.json"))


def fx_zero3_empty_head(out):
    """Under ZeRO-3 a partitioned parameter's .data is torch.empty(0) (partition_parameters.py free_param)."""
    from safetensors.torch import save_file
    model = reward_model(head=trained_head())
    model.config.value_head_prefix = "value_head"
    out.mkdir(parents=True, exist_ok=True)
    save_file({k: torch.empty(0, dtype=v.dtype) for k, v in model.state_dict().items()},
              str(out / "model.safetensors"), metadata={"format": "pt"})
    model.config.architectures = ["RewardModel"]
    model.config.to_json_file(str(out / "config.json"))


def fx_dschat_rm_bin(out):
    """dschat/utils/model/reward_model.py: v_head (no bias) + rwtransformer; save_hf_format torch.saves it."""
    from transformers import LlamaModel

    class DSChatRewardModel(nn.Module):
        def __init__(self, base):
            super().__init__()
            self.config = base.config
            self.v_head = nn.Linear(base.config.hidden_size, 1, bias=False)
            self.rwtransformer = base

    torch.manual_seed(0)
    base = LlamaModel(llama_config(architectures=["LlamaForCausalLM"]))
    base.config.end_token_id, base.config.n_embd = 2, HIDDEN
    model = DSChatRewardModel(base)
    with torch.no_grad():
        model.v_head.weight.copy_(trained_head())
    out.mkdir(parents=True, exist_ok=True)
    torch.save(model.state_dict(), out / "pytorch_model.bin")
    model.config.to_json_file(str(out / "config.json"))


def fx_bin_sharded(out):
    model = reward_model(head=trained_head())
    model.config.value_head_prefix = "value_head"
    state = model.state_dict()
    keys = list(state)
    shards = {"pytorch_model-00001-of-00002.bin": keys[: len(keys) // 2],
              "pytorch_model-00002-of-00002.bin": keys[len(keys) // 2:]}
    out.mkdir(parents=True, exist_ok=True)
    weight_map, total = {}, 0
    for name, names in shards.items():
        torch.save({k: state[k].contiguous() for k in names}, out / name)
        for k in names:
            weight_map[k] = name
            total += state[k].numel() * state[k].element_size()
    index = {"metadata": {"total_size": total}, "weight_map": weight_map}
    (out / "pytorch_model.bin.index.json").write_text(json.dumps(index, indent=2, sort_keys=True) + "\n")
    model.config.to_json_file(str(out / "config.json"))


def _trl_head():
    return {"v_head.summary.weight": trained_head().to(torch.bfloat16),
            "v_head.summary.bias": torch.tensor([0.25], dtype=torch.bfloat16)}


def fx_trl_valuehead_full(out):
    """AutoModelForCausalLMWithValueHead.state_dict(): the LM's keys plus v_head.summary.*."""
    from transformers import LlamaForCausalLM
    model = LlamaForCausalLM.from_pretrained("base_sft", dtype=torch.bfloat16)
    model.save_pretrained(out, state_dict={**model.state_dict(), **_trl_head()})


def fx_llamafactory_lora_rm(out):
    """llamafactory/train/callbacks.py::fix_valuehead_checkpoint writes v_head.* to value_head.safetensors."""
    from safetensors.torch import save_file
    from transformers import LlamaForCausalLM
    base = LlamaForCausalLM.from_pretrained("base_sft", dtype=torch.bfloat16)
    lora(base, task_type="CAUSAL_LM").save_pretrained(out)
    save_file(_trl_head(), str(out / "value_head.safetensors"), metadata={"format": "pt"})


def fx_qlora_4bit(out):
    from transformers import BitsAndBytesConfig
    full = Path(tempfile.mkdtemp(prefix="rm_full_"))
    try:
        save_rm(reward_model(head=trained_head()), full)
        nf4 = BitsAndBytesConfig(load_in_4bit=True, bnb_4bit_quant_type="nf4", bnb_4bit_use_double_quant=True,
                                 bnb_4bit_compute_dtype=torch.bfloat16)   # OpenRLHF's nf4_config
        quantized = reward_model_class("value_head").from_pretrained(str(full), quantization_config=nf4,
                                                                     device_map="cpu", dtype=torch.bfloat16)
        quantized.save_pretrained(out)
    finally:
        shutil.rmtree(full, ignore_errors=True)


def fx_deepspeed_zero_ckpt(out):
    """engine.save_checkpoint's file names (deepspeed/checkpoint/constants.py); the contents are plain
    dicts with DeepSpeed's keys, since real ones pickle DeepSpeed objects. rmlint classifies by name."""
    state = reward_model().state_dict()
    step = out / "global_step10"
    step.mkdir(parents=True, exist_ok=True)
    (out / "latest").write_text("global_step10")
    (out / "zero_to_fp32.py").write_text("# DeepSpeed copies deepspeed/utils/zero_to_fp32.py here\n")
    numel = sum(v.numel() for v in state.values())
    config = {"zero_optimization": {"stage": 3}, "bf16": {"enabled": True}}
    for rank in (0, 1):
        torch.save({"module": {k: torch.empty(0, dtype=v.dtype) for k, v in state.items()},
                    "param_shapes": [{k: list(v.shape) for k, v in state.items()}], "dp_world_size": 2,
                    "ds_config": config, "ds_version": "0.18.0"},
                   step / f"zero_pp_rank_{rank}_mp_rank_00_model_states.pt")
        torch.save({"optimizer_state_dict": {"zero_stage": 3, "partition_count": 2,
                                             "fp32_flat_groups": [draw(((numel + 1) // 2,), 0.02, rank)]},
                    "ds_config": config, "ds_version": "0.18.0"},
                   step / f"bf16_zero_pp_rank_{rank}_mp_rank_00_optim_states.pt")


class _RunsCommand:
    def __reduce__(self):
        return (os.system, ("true",))   # harmless; a safe reader refuses before calling anything


def _safetensors_bytes(header: dict, data: bytes, length: int | None = None) -> bytes:
    raw = json.dumps(header, separators=(",", ":")).encode()
    raw += b" " * (-len(raw) % 8)
    return struct.pack("<Q", len(raw) if length is None else length) + raw + data


def fx_hostile(out):
    out.mkdir(parents=True, exist_ok=True)
    floats = lambda n: struct.pack(f"<{n}f", *([0.5] * n))   # noqa: E731
    head = {"dtype": "F32", "shape": [1, HIDDEN], "data_offsets": [0, 4 * HIDDEN]}
    valid = _safetensors_bytes({"__metadata__": {"format": "pt"}, "value_head.weight": head}, floats(HIDDEN))
    files = {
        "valid_control.safetensors": valid,
        "truncated.safetensors": valid[:-100],
        "header_too_large.safetensors": struct.pack("<Q", 100 * 10 ** 9) + b"{}      ",
        "header_longer_than_file.safetensors": struct.pack("<Q", 4096) + b'{"a":1}',
        "header_not_json.safetensors": struct.pack("<Q", 24) + b"this is not json at all!",
        "offsets_overlap.safetensors": _safetensors_bytes(
            {"a": {"dtype": "F32", "shape": [64], "data_offsets": [0, 256]},
             "b": {"dtype": "F32", "shape": [64], "data_offsets": [0, 256]}}, floats(64)),
        "offsets_outside_file.safetensors": _safetensors_bytes(
            {"value_head.weight": {**head, "data_offsets": [0, 1 << 40]}}, floats(HIDDEN)),
        "offsets_hole.safetensors": _safetensors_bytes(
            {"a": {"dtype": "F32", "shape": [32], "data_offsets": [128, 256]}}, floats(64)),
        "shape_mismatch.safetensors": _safetensors_bytes(
            {"value_head.weight": {**head, "shape": [1, 4096]}}, floats(HIDDEN)),
        "binary_garbage.safetensors": hashlib.sha256(b"rmlint").digest() * 8,
    }
    for name, data in files.items():
        (out / name).write_bytes(data)
    buffer = io.BytesIO()   # torch's zip layout around a pickle that would run os.system("true")
    with zipfile.ZipFile(buffer, "w", zipfile.ZIP_STORED) as archive:
        for member, data in (("data.pkl", pickle.dumps({"value_head.weight": _RunsCommand()}, protocol=2)),
                             (".format_version", b"1"), ("byteorder", b"little"), ("version", b"3\n")):
            archive.writestr(zipfile.ZipInfo(f"evil_pickle/{member}", date_time=(1980, 1, 1, 0, 0, 0)), data)
    (out / "evil_pickle.bin").write_bytes(buffer.getvalue())


BUILDERS = {name: globals()[f"fx_{name}"] for name in FIXTURES}


# ----------------------------------------------------------------------------- digests
VERSION_STAMPS = {"transformers_version", "peft_version"}
SET_VALUED = {"target_modules", "modules_to_save"}    # PEFT writes Python sets: order varies per run


def _canonical(value):
    if isinstance(value, dict):
        return {k: sorted(v) if k in SET_VALUED and isinstance(v, list) else _canonical(v)
                for k, v in value.items() if k not in VERSION_STAMPS}
    if isinstance(value, list):
        return [_canonical(v) for v in value]
    return value


def digest(path: Path) -> str | None:
    data = path.read_bytes()
    if path.suffix == ".json":
        try:
            return hashlib.sha256(json.dumps(_canonical(json.loads(data)), sort_keys=True).encode()).hexdigest()
        except ValueError:
            pass
    if path.name == "README.md":
        return None            # PEFT's model card
    if path.suffix in (".bin", ".pt") and zipfile.is_zipfile(path) and path.parent.name != "hostile":
        h = hashlib.sha256()
        with zipfile.ZipFile(path) as archive:
            for info in sorted(archive.infolist(), key=lambda i: i.filename):
                if not info.filename.endswith(".data/serialization_id"):
                    h.update(info.filename.encode() + b"\0" + archive.read(info) + b"\0")
        return h.hexdigest()
    return hashlib.sha256(data).hexdigest()


def files_of(folder: Path) -> dict:
    return {str(p.relative_to(folder)): {"bytes": p.stat().st_size, "digest": digest(p)}
            for p in sorted(folder.rglob("*")) if p.is_file() and p.name != "README.md"}


def generate(outdir: Path) -> dict:
    _setup()
    outdir = outdir.resolve()
    outdir.mkdir(parents=True, exist_ok=True)
    here = os.getcwd()
    os.chdir(outdir)   # adapters then record base_model_name_or_path "base_sft", relative to the fixtures
    manifest = {"generator": "tools/make_checkpoint_fixtures.py", "fixtures": {}}
    try:
        for name, build in BUILDERS.items():
            shutil.rmtree(name, ignore_errors=True)
            build(Path(name))
            for card in Path(name).rglob("README.md"):
                card.unlink()   # PEFT's model card: boilerplate with version stamps
            files = files_of(Path(name))
            size = sum(f["bytes"] for f in files.values())
            if size > BUDGET:
                raise SystemExit(f"{name}: {size} bytes, over the {BUDGET}-byte budget")
            what, head, verdict = FIXTURES[name]
            manifest["fixtures"][name] = {"what": what, "head": head, "verdict": verdict, "bytes": size,
                                          "files": files}
    finally:
        os.chdir(here)
    return manifest


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("outdir", type=Path)
    parser.add_argument("--check", action="store_true", help="rebuild in a temporary folder and compare digests")
    args = parser.parse_args(argv)
    if not args.check:
        manifest = generate(args.outdir)
        (args.outdir / "MANIFEST.json").write_text(json.dumps(manifest, indent=2, sort_keys=True) + "\n")
        total = sum(f["bytes"] for f in manifest["fixtures"].values())
        print(f"{len(manifest['fixtures'])} fixtures, {total} bytes in {args.outdir}")
        return 0
    committed = json.loads((args.outdir / "MANIFEST.json").read_text())["fixtures"]
    with tempfile.TemporaryDirectory(prefix="rmlint_fixtures_") as tmp:
        fresh = generate(Path(tmp))["fixtures"]
    differ = []
    for name in sorted(set(fresh) | set(committed)):
        old, new = committed.get(name, {}).get("files", {}), fresh.get(name, {}).get("files", {})
        differ += [f"{name}/{rel}" for rel in sorted(set(old) | set(new))
                   if old.get(rel, {}).get("digest") != new.get(rel, {}).get("digest")]
    for path in differ:
        print(f"differs: {path}")
    print("fixtures match" if not differ else f"{len(differ)} file(s) differ")
    return 1 if differ else 0


if __name__ == "__main__":
    sys.exit(main())
