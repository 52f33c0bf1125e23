"""OpenRLHF's batch arithmetic, once: the train batch its DeepSpeed strategy hands DeepSpeed
(`train_batch_size * ring_attn_size * ds_tensor_parallel_size`, openrlhf/utils/deepspeed/deepspeed.py
get_ds_train_config at v0.11.0) and what DeepSpeed makes of it on a GPU count
(deepspeed/runtime/config.py _set_batch_related_parameters and _batch_assertion: accumulation steps
= batch // micro // GPUs, and batch must equal micro x steps x GPUs). Used by the DeepSpeed config
rmlint builds for each model (dsconfig) and by the batch facts of each role (roles)."""


def _size(value, default: int) -> int:
    return default if value is None else value


def global_batch(s: dict) -> int:
    """The train_batch_size OpenRLHF writes into the DeepSpeed config (`s`: OpenRLHF's settings)."""
    return _size(s["train_batch_size"], 0) * _size(s["ring_attn_size"], 1) * _size(s["tensor_parallel_size"], 1)


def split(s: dict, gpus: int) -> dict:
    """The global batch over `gpus` GPUs in micro batches: the role.batch facts."""
    micro = s["micro_train_batch_size"] or 0
    total = global_batch(s)
    per_step = micro * gpus
    return {
        "global": total,
        "micro": micro,
        "per_step": per_step,
        "remainder": total % per_step if per_step else 0,
        "micro_remainder": total % micro if micro else 0,
        "grad_accum": total // per_step if per_step else 0,
    }
