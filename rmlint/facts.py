"""The facts every subject carries: each root present with typed defaults, so any rule's
condition evaluates on any subject (CEL fails on absent keys)."""

import copy
from functools import lru_cache

from .deepspeed.config import absent


ROLE_DEFAULTS = {  # the shape of openrlhf.roles.facts(); a test keeps the two in step
    "kind": "", "name": "", "trained": False, "path": "", "value_head": False, "init_value_head": False,
    "same_model_as_actor": False, "lora_rank": 0, "load_in_4bit": False, "gpus": 0, "gpus_from": "", "deepspeed": False,
    "saves_weights": False,
    "batch": {"global": 0, "micro": 0, "per_step": 0, "remainder": 0, "micro_remainder": 0, "grad_accum": 0},
}


@lru_cache(maxsize=1)
def _defaults() -> dict:
    from .openrlhf.concepts import CONCEPTS, FALLBACK
    args = {concept: FALLBACK.get(concept) for concept in CONCEPTS}
    args.update(zero_stage=0, lora_rank=0, lora_alpha=16, load_in_4bit=False, target_modules="all-linear",
                micro_train_batch_size=1, train_batch_size=1, adam_offload=False, dtype="fp32",
                attn="eager", packing_forces_flash=False, pretrain=None, critic_inits_head=True,
                head_in_targets=False, lora_head_wrapped="", lora_head_frozen="", lora_frozen_targets="")
    role = copy.deepcopy(ROLE_DEFAULTS)
    launch = {"entrypoint": "", "generation": 0, "generation_label": "", "releases": "", "launcher": "",
              "oldest_version": 0, "newest_version": 0,
              "world_size": 0, "gpus_from": "", "pinned": "", "pin_missing": "", "pin_conflict": False,
              "opaque": False, "problems": []}
    from .checkpoint.defaults import defaults as checkpoint_defaults
    from .checkpoint.defaults import reward_defaults
    from .trainers.defaults import defaults as trainer_defaults
    from .versions import unknown_facts
    return {"input": {"kind": ""}, "launch": launch, "versions": unknown_facts(), "args": args, "role": role,
            "ds": absent(), "ckpt": checkpoint_defaults(), "trainer": trainer_defaults(), "reward": reward_defaults()}


def defaults() -> dict:
    """Fresh facts with every root; `versions` is shared read-only (each subject gets its own at the end)."""
    base = _defaults()
    return {root: value if root == "versions" else copy.deepcopy(value) for root, value in base.items()}
