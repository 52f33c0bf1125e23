#!/usr/bin/env bash
# Reward-model training in the flat --param_dtype CLI of OpenRLHF 0.9.2 - 0.10.1, written for
# these samples after the upstream train_rm_llama.sh. One mistake: --target_modules all-linear
# spelled out (argparse makes it a list, PEFT then looks for a module named "all-linear").
EXTRA_FLAGS="--lora_rank 16 --lora_alpha 32"

torchrun --nproc_per_node 8 -m openrlhf.cli.train_rm \
   --pretrain OpenRLHF/Llama-3-8b-sft-mixture \
   --save_path ./checkpoint/llama3-8b-rm \
   --train_batch_size 256 \
   --micro_train_batch_size 4 \
   --param_dtype bf16 \
   --attn_implementation flash_attention_2 \
   --zero_stage 2 \
   --max_len 4096 \
   --learning_rate 9e-6 \
   --dataset OpenRLHF/preference_dataset_mixture2_and_safe_pku \
   --apply_chat_template \
   --chosen_key chosen \
   --rejected_key rejected \
   $EXTRA_FLAGS \
   --target_modules all-linear
