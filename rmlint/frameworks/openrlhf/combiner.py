"""What `python -m openrlhf.cli.lora_combiner --is_rm` does to the adapter it names.

lora_combiner.py (0.5.6 - 0.11.0) loads the base with AutoModelForSequenceClassification.from_pretrained,
so the head is `score` with num_labels outputs: 2 unless the base's config.json says otherwise. An
OpenRLHF reward adapter's head has 1 output: PeftModel.from_pretrained then fails with a size mismatch
when the adapter holds the head (LoRA factors of `score`, or `score` itself through modules_to_save),
and otherwise "succeeds" with the base's new random [2, h] score (OpenRLHF #682, #872).
"""

import os

HEAD = "score"          # the head AutoModelForSequenceClassification builds for decoder models


def _labels(config) -> int:
    if not isinstance(config, dict):
        return 2
    id2label = config.get("id2label")
    if isinstance(id2label, dict) and id2label:
        return len(id2label)
    return config["num_labels"] if isinstance(config.get("num_labels"), int) else 2


def facts(adapter_path, model_path, base_dirs: list) -> dict:
    """The `reward.combine*` facts for an --is_rm merge: combine is lora-on-head | head-saved | no-head |
    unread ("" when the merge keeps the head: a base whose config.json already has one output)."""
    from ..checkpoint.facts import _strip         # the checkpoint readers only for a merge launch
    from ..checkpoint.identity import config_of
    result = {"combine": "", "combine_tensor": "", "combine_shape": [], "combine_model_shape": []}
    labels = _labels(config_of(model_path, base_dirs)) if isinstance(model_path, str) and model_path else 2
    if labels == 1:
        return result
    checkpoint = _adapter(adapter_path, base_dirs)
    if checkpoint is None:
        result["combine"] = "unread"
        return result
    for tensor in checkpoint.tensors:
        name = _strip(tensor.name)
        if name.startswith(f"{HEAD}.lora_B") and len(tensor.shape) == 2:
            rows, rank = tensor.shape
            result.update(combine="lora-on-head", combine_tensor=tensor.name, combine_shape=[rows, rank],
                          combine_model_shape=[labels, rank])
            return result
        if name in (f"{HEAD}.weight", f"{HEAD}.modules_to_save.default.weight") and len(tensor.shape) == 2:
            rows, hidden = tensor.shape
            result.update(combine="head-saved", combine_tensor=tensor.name, combine_shape=[rows, hidden],
                          combine_model_shape=[labels, hidden])
            return result
    result["combine"] = "no-head"
    return result


def _adapter(path, base_dirs: list):
    """The adapter's Checkpoint when it is on this machine and fully read, else None."""
    if not isinstance(path, str) or not path:
        return None
    from ..checkpoint.hub_cache import resolve
    from ..checkpoint.subjects import _read
    local, _ = resolve(path, base_dirs)
    if local is None:
        return None
    checkpoint = _read(os.path.normpath(local))
    if checkpoint.errors or checkpoint.format != "peft-adapter":
        return None
    return checkpoint
