"""The DeepSpeed configs OpenRLHF builds for each model, so DeepSpeed rules apply to launches
that have no JSON at all. Mirrors `get_train_ds_config` / `get_eval_ds_config`
(openrlhf/utils/deepspeed/deepspeed_utils.py) and the strategy wrappers that add the batch keys
(openrlhf/utils/deepspeed/deepspeed.py, get_ds_train_config / get_ds_eval_config) at v0.11.0.
Keys OpenRLHF sets to "auto" on purpose (DeepSpeed then uses its defaults) are left out.
"""

from .batch import global_batch


def train_config(s: dict) -> tuple:
    """(config, {ds key path: concept that set it})."""
    zero = {
        "stage": s["zero_stage"],
        "offload_param": {"device": "none"},
        "offload_optimizer": {"device": "cpu" if s["adam_offload"] else "none", "pin_memory": True},
        "zero_hpz_partition_size": s["zpg"],
        "zero_quantized_weights": False,
        "zero_quantized_gradients": False,
    }
    if s["overlap_comm"]:
        zero.update(overlap_comm=True, contiguous_gradients=True)
    if s["zero_stage"] == 3:
        zero["reduce_scatter"] = True
    config = {
        "zero_optimization": zero,
        "bf16": {"enabled": s["dtype"] == "bf16"},
        "fp16": {"enabled": s["dtype"] == "fp16"},
        "gradient_clipping": s["max_norm"],
        "prescale_gradients": False,
        "tensor_parallel": {"autotp_size": s["tensor_parallel_size"]},
    }
    origin = {"zero_optimization.stage": "zero_stage", "zero_optimization.offload_optimizer.device": "adam_offload",
              "zero_optimization.zero_hpz_partition_size": "zpg", "zero_optimization.overlap_comm": "overlap_comm",
              "bf16.enabled": "dtype", "fp16.enabled": "dtype", "gradient_clipping": "max_norm"}
    _batch(config, origin, s, dynamic=s["dynamic_batch"])
    return config, origin


def eval_config(s: dict, offload_concept: str | None) -> tuple:
    offload = bool(s[offload_concept]) if offload_concept else False
    config = {
        "zero_optimization": {"stage": 3 if s["zero_stage"] == 3 else 0,
                              "offload_param": {"device": "cpu" if offload else "none", "pin_memory": True}},
        "bf16": {"enabled": s["dtype"] == "bf16"},
        "fp16": {"enabled": s["dtype"] == "fp16"},
        "gradient_clipping": 1.0,
        "prescale_gradients": False,
    }
    origin = {"zero_optimization.stage": "zero_stage", "bf16.enabled": "dtype", "fp16.enabled": "dtype"}
    if offload_concept:
        origin["zero_optimization.offload_param.device"] = offload_concept
    _batch(config, origin, s, dynamic=False)
    return config, origin


def _batch(config: dict, origin: dict, s: dict, dynamic: bool):
    if dynamic:
        config["train_micro_batch_size_per_gpu"] = 1
        config["gradient_accumulation_steps"] = 1
        origin["train_micro_batch_size_per_gpu"] = "dynamic_batch"
        return
    config["train_micro_batch_size_per_gpu"] = s["micro_train_batch_size"]
    config["train_batch_size"] = global_batch(s)
    origin["train_micro_batch_size_per_gpu"] = "micro_train_batch_size"
    origin["train_batch_size"] = "train_batch_size"
