#!/usr/bin/env bash
# A LoRA reward model on the dotted CLI (OpenRLHF >= 0.10.2) with an explicit target list:
# the value head is neither LoRA-wrapped nor in modules_to_save, so it stays at its random init.
deepspeed --num_gpus 4 --module openrlhf.cli.train_rm \
   --model.model_name_or_path meta-llama/Llama-3.1-8B-Instruct \
   --ckpt.output_dir ./checkpoint/llama3-8b-rm-lora \
   --train.batch_size 64 \
   --train.micro_batch_size 2 \
   --ds.zero_stage 2 \
   --ds.param_dtype bf16 \
   --ds.lora.rank 32 \
   --ds.lora.alpha 64 \
   --ds.lora.target_modules q_proj k_proj v_proj o_proj \
   --data.dataset OpenRLHF/preference_dataset_mixture2_and_safe_pku \
   --data.chosen_key chosen \
   --data.rejected_key rejected \
   --data.apply_chat_template
