"""The shape of the `trainer` facts (LLaMA-Factory, TRL, axolotl, PEFT, verl, DeepSpeed-Chat), importable
without the readers: every subject carries it (facts.defaults)."""

import copy

TRAINER_DEFAULTS = {
    "framework": "", "label": "", "stage": "", "finetuning": "", "lora_rank": 0, "lora_targets": [],
    "modules_to_save": [], "task_type": "", "head": "", "head_in_targets": False, "head_saved": True,
    "unmatched_heads": [], "quantization_bit": 0, "quantization_method": "", "quant_storage": "",
    "quant_storage_ok": True, "quant_storage_text": "", "reentrant_effect": "", "reward_model": "", "reward_head": "", "model_quantization": "",
    "reward_fallback": "PPO needs a reward model to score the rollouts", "reward_model_type": "", "pure_bf16": False, "bf16": False,
    "fp16": False, "deepspeed_file": "", "zero_stage": 0, "gpus": 0, "gradient_checkpointing": False,
    "use_reentrant": "", "rl": False, "packing": False, "neat_packing": False, "num_labels": 0,
    "batch": {"micro": 0, "grad_accum": 0, "mini_batches": 0, "local": 0, "remainder": 0, "fix": "",
              "local_mini": 0, "whiten": False, "fields": [], "fields_text": "", "conflict": False},
    "typos": [], "typo_effect": "", "refused": [], "checks": [], "reward_retokenizes": False,
    "releases": "", "release_problems": [],
    "keys": {"quantization": "", "adapter": "", "modules_to_save": "", "targets": "", "task_type": "",
             "reentrant": "gradient_checkpointing_kwargs", "packing": "", "reward_model": "reward_model"},
}


def defaults() -> dict:
    return copy.deepcopy(TRAINER_DEFAULTS)
