#!/usr/bin/env bash
# PPO with a critic started from the SFT model (OpenRLHF 0.9.x flags). Three mistakes:
# the critic path is the actor's path with a trailing slash, the reward model group has
# 3 GPUs (the batch does not divide), and --packing_samples with no vLLM engines.
SFT=./checkpoints/llama3-8b-sft

ray job submit --address="http://127.0.0.1:8265" \
   --runtime-env-json='{"working_dir": "/openrlhf"}' \
   -- python3 -m openrlhf.cli.train_ppo_ray \
   --ref_num_nodes 1 \
   --ref_num_gpus_per_node 4 \
   --reward_num_nodes 1 \
   --reward_num_gpus_per_node 3 \
   --critic_num_nodes 1 \
   --critic_num_gpus_per_node 4 \
   --actor_num_nodes 1 \
   --actor_num_gpus_per_node 4 \
   --pretrain $SFT \
   --critic_pretrain ${SFT}/ \
   --reward_pretrain OpenRLHF/Llama-3-8b-rm-mixture \
   --save_path ./checkpoints/llama3-8b-ppo \
   --micro_train_batch_size 8 \
   --train_batch_size 128 \
   --micro_rollout_batch_size 16 \
   --rollout_batch_size 1024 \
   --zero_stage 3 \
   --bf16 \
   --attn_implementation flash_attention_2 \
   --init_kl_coef 0.01 \
   --prompt_data OpenRLHF/prompt-collection-v0.1 \
   --input_key context_messages \
   --apply_chat_template \
   --normalize_reward \
   --packing_samples \
   --gradient_checkpointing
