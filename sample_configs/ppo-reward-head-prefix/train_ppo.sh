#!/bin/bash
# PPO (OpenRLHF 0.11 dotted flags) on a reward model trained with OpenRLHF 0.5.2, whose head is
# value_head.weight and whose config.json has no value_head_prefix: with today's default prefix
# `score` the reward model and the critic both load a random head, and nothing fails.
# The checkpoint is a tiny real one from the test fixtures.
RM=../../tests/fixtures/checkpoints/openrlhf_rm_value_head_no_prefix

python3 -m openrlhf.cli.train_ppo_ray \
   --ref.num_nodes 1 --ref.num_gpus_per_node 2 \
   --reward.num_nodes 1 --reward.num_gpus_per_node 2 \
   --critic.num_nodes 1 --critic.num_gpus_per_node 2 \
   --actor.num_nodes 1 --actor.num_gpus_per_node 2 \
   --vllm.num_engines 2 --vllm.tensor_parallel_size 1 \
   --actor.model_name_or_path ../../tests/fixtures/checkpoints/base_sft \
   --reward.model_name_or_path $RM \
   --ckpt.output_dir ./checkpoint/ppo \
   --train.micro_batch_size 4 --train.batch_size 128 \
   --rollout.micro_batch_size 8 --rollout.batch_size 256 \
   --ds.zero_stage 2 --ds.param_dtype bf16 \
   --data.prompt_dataset OpenRLHF/prompt-collection-v0.1 --data.input_key context_messages
