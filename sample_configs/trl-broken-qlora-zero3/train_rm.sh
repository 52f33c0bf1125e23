#!/bin/bash
# A QLoRA reward model on 8 GPUs with TRL's reward script under DeepSpeed ZeRO-3 (TRL's own
# accelerate config): the head is named wrong, the 4-bit storage dtype is left at uint8, and
# non-reentrant checkpointing is asked for where TRL overrides it.
accelerate launch --config_file deepspeed_zero3.yaml \
    examples/scripts/reward_modeling.py \
    --config reward_qlora.yaml \
    --lora_modules_to_save scores \
    --gradient_checkpointing_kwargs '{"use_reentrant": false}'
