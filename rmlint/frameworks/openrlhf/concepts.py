"""One name per setting, whatever the release calls it.

Each concept lists the flags that carried it in the three CLI generations (research/
openrlhf.md §2.1). `resolve` reads a concept for one release: the flag given on the
command line, else that release's default, else `FALLBACK` (the setting did not exist
yet, and the code behaved as this value).
"""

CONCEPTS = {
    "pretrain": ["--pretrain", "--model.model_name_or_path", "--actor.model_name_or_path"],
    "reward_pretrain": ["--reward_pretrain", "--reward.model_name_or_path"],
    "reward_model_path": ["--reward_model_path"],   # <= 0.1.0: the trained reward weights (.pt) over the base
    "critic_pretrain": ["--critic_pretrain", "--critic.model_name_or_path"],
    "ref_pretrain": ["--ref_pretrain", "--ref.model_name_or_path"],
    "remote_rm_url": ["--remote_rm_url", "--reward.remote_url"],
    "value_head_prefix": ["--value_head_prefix", "--ds.value_head_prefix"],
    "normalize_reward": ["--normalize_reward", "--reward.normalize_enable"],
    "zero_stage": ["--zero_stage", "--ds.zero_stage"],
    "bf16": ["--bf16"],
    "param_dtype": ["--param_dtype", "--ds.param_dtype"],
    "flash_attn": ["--flash_attn"],
    "attn_implementation": ["--attn_implementation", "--ds.attn_implementation"],
    "load_in_4bit": ["--load_in_4bit", "--ds.load_in_4bit"],
    "lora_rank": ["--lora_rank", "--ds.lora.rank"],
    "lora_alpha": ["--lora_alpha", "--ds.lora.alpha"],
    "target_modules": ["--target_modules", "--ds.lora.target_modules"],
    "adam_offload": ["--adam_offload", "--ds.adam_offload"],
    "zpg": ["--zpg", "--ds.zpg"],
    "overlap_comm": ["--overlap_comm", "--ds.overlap_comm"],
    "grad_accum_dtype": ["--grad_accum_dtype", "--ds.grad_accum_dtype"],
    "tensor_parallel_size": ["--ds_tensor_parallel_size", "--ds.tensor_parallel_size"],
    "ring_attn_size": ["--ring_attn_size", "--ds.ring_attn_size"],
    "packing_samples": ["--packing_samples", "--ds.packing_samples"],
    "dynamic_batch": ["--use_dynamic_batch", "--train.dynamic_batch_enable"],
    "micro_train_batch_size": ["--micro_train_batch_size", "--train.micro_batch_size"],
    "train_batch_size": ["--train_batch_size", "--train.batch_size"],
    "micro_rollout_batch_size": ["--micro_rollout_batch_size", "--rollout.micro_batch_size"],
    "rollout_batch_size": ["--rollout_batch_size", "--rollout.batch_size"],
    "n_samples_per_prompt": ["--n_samples_per_prompt", "--rollout.n_samples_per_prompt"],
    "max_norm": ["--max_norm"],
    "advantage_estimator": ["--advantage_estimator", "--algo.advantage.estimator"],
    "init_kl_coef": ["--init_kl_coef", "--algo.kl.init_coef"],
    "vllm_num_engines": ["--vllm_num_engines", "--vllm.num_engines"],
    "vllm_tensor_parallel_size": ["--vllm_tensor_parallel_size", "--vllm.tensor_parallel_size"],
    "actor_num_nodes": ["--actor_num_nodes", "--actor.num_nodes"],
    "actor_num_gpus_per_node": ["--actor_num_gpus_per_node", "--actor.num_gpus_per_node"],
    "critic_num_nodes": ["--critic_num_nodes", "--critic.num_nodes"],
    "critic_num_gpus_per_node": ["--critic_num_gpus_per_node", "--critic.num_gpus_per_node"],
    "ref_num_nodes": ["--ref_num_nodes", "--ref.num_nodes"],
    "ref_num_gpus_per_node": ["--ref_num_gpus_per_node", "--ref.num_gpus_per_node"],
    "reward_num_nodes": ["--reward_num_nodes", "--reward.num_nodes"],
    "reward_num_gpus_per_node": ["--reward_num_gpus_per_node", "--reward.num_gpus_per_node"],
    "colocate_actor_ref": ["--colocate_actor_ref", "--train.colocate_actor_ref"],
    "colocate_critic_reward": ["--colocate_critic_reward", "--train.colocate_critic_reward"],
    "colocate_all_models": ["--colocate_all_models", "--train.colocate_all"],
    "async_train": ["--async_train", "--train.async_enable"],
    "ref_reward_offload": ["--ref_reward_offload"],
    "ref_offload": ["--ref_offload", "--ref.offload"],
    "reward_offload": ["--reward.offload"],
    "save_value_network": ["--save_value_network", "--critic.save_value_network"],
    "enable_sleep": ["--deepspeed_enable_sleep", "--ds.enable_sleep"],
    "eval_dataset": ["--eval_dataset", "--eval.dataset"],
    "deepcompile": ["--deepcompile", "--ds.deepcompile"],
    "use_ds_universal_ckpt": ["--use_ds_universal_ckpt", "--ds.use_universal_ckpt"],
    "gradient_checkpointing": ["--gradient_checkpointing", "--model.gradient_checkpointing_enable",
                               "--actor.gradient_checkpointing_enable"],
    "model_path": ["--model_path"],          # lora_combiner: the base model, the adapter, reward-model mode
    "lora_path": ["--lora_path"],
    "is_rm": ["--is_rm"],
}

# How the code behaved in releases that did not have the setting yet.
FALLBACK = {
    "bf16": False, "flash_attn": False, "ring_attn_size": 1, "tensor_parallel_size": 1, "dynamic_batch": False,
    "overlap_comm": False, "remote_rm_url": None, "advantage_estimator": "gae", "n_samples_per_prompt": 1,
    "enable_sleep": False, "colocate_all_models": False, "async_train": False, "reward_offload": False, "ref_offload": False,
    "ref_reward_offload": False, "deepcompile": False, "use_ds_universal_ckpt": False, "save_value_network": False,
    "normalize_reward": False, "eval_dataset": None, "packing_samples": False, "vllm_num_engines": None,
    "init_kl_coef": 0.0, "zpg": 1, "grad_accum_dtype": None, "value_head_prefix": "value_head",
    "max_norm": 1.0, "gradient_checkpointing": False, "critic_pretrain": None, "reward_pretrain": None,
    "ref_pretrain": None, "param_dtype": None, "reward_model_path": None, "attn_implementation": None,
    "model_path": None, "lora_path": None, "is_rm": False,
    # switches an entrypoint got later (0.0.1's train_rm had no --load_in_4bit): off, as the code ran then
    "load_in_4bit": False, "adam_offload": False, "colocate_actor_ref": False, "colocate_critic_reward": False,
    "lora_rank": 0,
}


def resolve(concept: str, flags: dict, given: dict, release: int):
    """(value, flag name that set it or None, explicitly given?) for one concept at one release."""
    names = [n for n in CONCEPTS[concept] if n in flags and flags[n].exists(release)]
    for name in names:
        if name in given:  # an unreadable value keeps the default's type; the concept is marked unknown
            value = given[name].value if given[name].known else flags[name].default_at(release)
            return value, name, True
    if names:
        return flags[names[0]].default_at(release), names[0], False
    return FALLBACK.get(concept), None, False
