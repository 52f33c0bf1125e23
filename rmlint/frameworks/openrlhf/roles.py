"""The models a launch creates, each with how OpenRLHF loads it and which DeepSpeed config it gets.

Call sites (v0.11.0): train_rm.py passes init_value_head=True; ppo_critic.py passes
`actor path == critic path` (a plain string comparison, since v0.4.0); the PPO reward model and
serve_rm pass False. A PPO critic defaults to the first --reward_pretrain, or to the actor when the
reward is remote (train_ppo_ray.py, the `critic.model_name_or_path is None` branch).
"""

import os
from dataclasses import dataclass, field

from . import batch, dsconfig
from .flags import table


@dataclass
class Role:
    """One model a launch creates: its path, whether it trains, its value head, LoRA and DeepSpeed config."""
    kind: str                  # rm_train | policy | actor | critic | reward | ref | combiner | inference
    trained: bool
    path: object               # str | None
    path_concept: str | None
    value_head: bool
    init_value_head: bool
    lora_rank: int
    load_in_4bit: bool
    gpus: int                  # size of this model's DeepSpeed group; 0 when unknown
    ds: dict | None            # DeepSpeed config OpenRLHF builds for it; None when it has none
    ds_origin: dict = field(default_factory=dict)
    unknown: set = field(default_factory=set)      # role fields that cannot be known
    saves_weights: bool = False
    ray_group: bool = False    # its own Ray flags (--<kind>_num_nodes x --<kind>_num_gpus_per_node) size its group


INFERENCE = ("batch_inference", "interactive_chat")


def _group(s: dict, prefix: str) -> int:
    return (s[f"{prefix}_num_nodes"] or 0) * (s[f"{prefix}_num_gpus_per_node"] or 0)


def _same_model(a, b) -> bool:
    """Paths that name the same model though the strings differ (`./x/` vs `x`)."""
    if not isinstance(a, str) or not isinstance(b, str) or a == b:
        return False
    return os.path.normpath(a) == os.path.normpath(b)


def build(entrypoint: str, s: dict, unknown: set, world: int) -> list:
    lora, q4 = s["lora_rank"] or 0, bool(s["load_in_4bit"])
    if entrypoint == "serve_rm":   # no training: no batch flags, no DeepSpeed config
        return [Role("reward", False, s["reward_pretrain"], "reward_pretrain", True,
                     False, 0, q4, 0, None)]
    if entrypoint == "lora_combiner":   # merges an adapter on the CPU: no DeepSpeed, no batch
        return [Role("combiner", False, s["lora_path"], "lora_path",
                     bool(s["is_rm"]), False, 0, False, 0, None)]
    if entrypoint in INFERENCE:    # generation or scoring with a trained model; rmlint models no more of it
        return [Role("inference", False, s["pretrain"], "pretrain", False, False, 0, q4,
                     0, None)]
    train_ds = dsconfig.train_config(s)
    if entrypoint == "train_rm":
        return [Role("rm_train", True, s["pretrain"], "pretrain", True, True, lora, q4,
                     world, *train_ds, saves_weights=True)]
    if entrypoint in ("train_sft", "train_kto", "train_prm", "train_kd", "train_pt"):
        return [Role("policy", True, s["pretrain"], "pretrain", False, False, lora, q4,
                     world, *train_ds, saves_weights=True)]
    if entrypoint == "train_dpo":
        return [Role("policy", True, s["pretrain"], "pretrain", False, False, lora, q4, world,
                     *train_ds, saves_weights=True),
                Role("ref", False, s["ref_pretrain"] or s["pretrain"], "ref_pretrain", False, False,
                     0, q4, world, *dsconfig.eval_config(s, "ref_offload"))]
    return _ppo(entrypoint, s, unknown, world, lora, q4, train_ds)


def _ppo(entrypoint, s, unknown, world, lora, q4, train_ds) -> list:
    ray = entrypoint == "train_ppo_ray"
    offload = "ref_reward_offload" if "--ref_reward_offload" in table().entrypoints[entrypoint] else None
    roles = [Role("actor", True, s["pretrain"], "pretrain", False, False, lora, q4,
                  _group(s, "actor") if ray else world, *train_ds, saves_weights=True)]
    if (s["init_kl_coef"] or 0) > 0:
        roles.append(Role("ref", False, s["pretrain"], "pretrain", False, False, 0, q4,
                          _group(s, "ref") if ray else world,
                          *dsconfig.eval_config(s, "ref_offload" if not offload else offload)))
    remote = s["remote_rm_url"]
    if not remote and s["reward_pretrain"]:
        roles.append(Role("reward", False, s["reward_pretrain"], "reward_pretrain", True, False, 0,
                          q4, _group(s, "reward") if ray else world,
                          *dsconfig.eval_config(s, "reward_offload" if not offload else offload)))
    if s["advantage_estimator"] == "gae":
        path, concept = s["critic_pretrain"], "critic_pretrain"
        if path is None:
            path, concept = ((s["reward_pretrain"] or "").split(",")[0] or None, "reward_pretrain") if not remote \
                else (s["pretrain"], "pretrain")
        inits = s["critic_inits_head"] and path == s["pretrain"]
        critic = Role("critic", True, path, concept, True, inits, lora, q4,
                      _group(s, "critic") if ray else world, *train_ds,
                      saves_weights=bool(s["save_value_network"]))
        if {"critic_pretrain", "reward_pretrain", "pretrain", "remote_rm_url"} & unknown:
            critic.unknown |= {"path", "init_value_head", "same_model_as_actor"}
        roles.append(critic)
    for role in roles if ray else ():
        role.ray_group = True
    return roles


def _gpus_from(role: Role, world_known: bool) -> str:
    """Where a model group's GPU count came from: `ray` (its own Ray flags) or `launch` (the launcher's
    options or the machine: launch.gpus_from); "" when not known."""
    if role.ray_group:
        return "ray"
    return "launch" if world_known else ""


def facts(role: Role, s: dict, world_known: bool = False) -> dict:
    return {
        "kind": role.kind,
        "trained": role.trained,
        "path": role.path or "",
        "value_head": role.value_head,
        "init_value_head": role.init_value_head,
        "same_model_as_actor": _same_model(role.path, s["pretrain"]),
        "lora_rank": role.lora_rank,
        "load_in_4bit": role.load_in_4bit,
        "gpus": role.gpus,
        "gpus_from": _gpus_from(role, world_known),
        "deepspeed": role.ds is not None,
        "saves_weights": role.saves_weights,
        "batch": batch.split(s, role.gpus),
    }
