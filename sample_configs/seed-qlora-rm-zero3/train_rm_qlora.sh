#!/usr/bin/env bash
# The seed failure: a QLoRA reward model under ZeRO-3 (the layout of the maintainer's
# reply in OpenRLHF #209). It trains, then loads with a random value head.
set -x

MODEL=Qwen/Qwen1.5-7B
SAVE_DIR=./checkpoint/qwen-7b-rm-qlora

read -r -d '' training_commands <<EOF
openrlhf.cli.train_rm \
   --save_path $SAVE_DIR \
   --save_steps -1 \
   --logging_steps 1 \
   --eval_steps -1 \
   --train_batch_size 128 \
   --micro_train_batch_size 4 \
   --pretrain $MODEL \
   --bf16 \
   --max_epochs 1 \
   --max_len 2048 \
   --zero_stage 3 \
   --learning_rate 9e-6 \
   --load_in_4bit \
   --lora_rank 64 \
   --lora_alpha 64 \
   --dataset OpenRLHF/preference_dataset_mixture2_and_safe_pku \
   --apply_chat_template \
   --chosen_key chosen \
   --rejected_key rejected \
   --flash_attn \
   --gradient_checkpointing
EOF

deepspeed --num_gpus 8 --module $training_commands
