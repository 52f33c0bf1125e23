"""The shapes of the `ckpt` and `reward` facts, importable without the readers (every subject carries them)."""

import copy

HEAD = {"kind": "", "found": False, "any": False, "trained": False, "name": "", "file": "", "shape": [], "shape_text": "",
        "rows": 0, "cols": 0, "dtype": "", "empty": False, "placeholder": False, "zeros": False,
        "nonfinite": False, "bad_values": False, "state": "", "shape_mismatch": False, "init": "",
        "confidence": "", "note": "", "std": 0.0}
LORA = {"r": 0, "task_type": "", "modules_to_save": [], "mts_text": "", "saves_head": False, "targets_head": False,
        "only_lora": False, "base": "", "head_text": ""}
DEFAULTS = {"available": False, "reason": "", "path": "", "use": "", "format": "", "format_text": "",
            "adapter": False, "deepspeed": False, "ds_stage": 0, "ds_ranks": 0, "ds_tag": "", "tensors": 0,
            "size": 0, "has_config": False, "architectures": "", "hidden_size": 0, "num_labels": 0, "prefix": "",
            "prefix_from": "", "prefix_flag": "--value_head_prefix", "other_prefix": "", "other_heads": [],
            "head_expected": False, "has_stats": False, "normalize_reward": False, "quantized": False,
            "quant_bits": 0, "quant_text": "", "missing_shards": [], "missing_text": "", "head_missing_shard": False,
            "misplaced": [], "misplaced_text": "", "empty_tensors": 0, "empty_text": "", "head": HEAD, "lora": LORA}


def defaults() -> dict:
    return copy.deepcopy(DEFAULTS)


REWARD = {  # the `reward` facts (identity.py)
    "path": "", "setting": "", "policy": "", "policy_setting": "", "same_as_policy": False,
    "feeds_ids": False, "family": "", "family_from": "", "policy_family": "", "policy_family_from": "",
    "family_differs": False, "chat_word": "", "holds": "", "holds_text": "",
    "combine": "", "combine_tensor": "", "combine_shapes": "", "combine_base": "",
}


def reward_defaults() -> dict:
    return copy.deepcopy(REWARD)
