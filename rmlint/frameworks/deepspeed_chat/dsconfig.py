"""The DeepSpeed configs DeepSpeed-Chat builds from its flags (dschat/utils/ds_utils.py get_train_ds_config,
with the batch keys each step's main.py and dschat/rlhf/rlhf_engine.py set), so the DeepSpeed rules apply
to launches that have no JSON. Older releases always trained in fp16 (no --dtype flag). `bfloat16` is the
key ds_utils writes; deepspeed.initialize reads it (the HF Trainer's `bf16` spelling is not needed here)."""


def train_config(stage, offload: bool, dtype: str, hybrid: bool = False, inference_tp: int = 1,
                 micro: int | None = None, world: int = 0, accumulation: int = 1) -> dict:
    device = "cpu" if offload else "none"
    config = {
        "train_batch_size": 32, "train_micro_batch_size_per_gpu": 4, "steps_per_print": 10,
        "zero_optimization": {"stage": stage, "overlap_comm": True, "offload_param": {"device": device},
                              "offload_optimizer": {"device": device}, "stage3_param_persistence_threshold": 1e4,
                              "stage3_max_live_parameters": 3e7, "stage3_prefetch_bucket_size": 3e7,
                              "memory_efficient_linear": False},
        ("bfloat16" if dtype == "bf16" else "fp16"): {"enabled": True} if dtype == "bf16" else
        {"enabled": True, "loss_scale_window": 100},
        "gradient_clipping": 1.0, "prescale_gradients": False, "wall_clock_breakdown": False,
        "hybrid_engine": {"enabled": hybrid, "max_out_tokens": 512, "inference_tp_size": inference_tp,
                          "release_inference_cache": False, "pin_parameters": True, "tp_gather_partition_size": 8},
    }
    if isinstance(micro, int):
        config["train_micro_batch_size_per_gpu"] = micro
        if world and isinstance(accumulation, int):
            config["train_batch_size"] = micro * world * accumulation
        else:
            del config["train_batch_size"]          # the world size is not known here
    if stage != 3:      # DeepSpeed ignores it below stage 3, and --offload sets both: nothing to report
        del config["zero_optimization"]["offload_param"]
    return config
