"""The batch checks verl makes after the GPUs are allocated, as `trainer.checks` items (one per failed
check: which check, the key it is reported at, the numbers, the smallest fix as `key=value`).

- validate_config (verl/utils/config.py): GPUs = trainer.n_gpus_per_node × trainer.nnodes;
  data.train_batch_size × rollout.n divisible by the GPUs (FSDP); Megatron actor: the GPUs divisible by
  tensor × pipeline × context parallel sizes, and data.train_batch_size × rollout.n by the data-parallel
  size (GPUs / those three) × ppo_micro_batch_size_per_gpu;
  micro-batch options: at least one of `*micro_batch_size` / `*_per_gpu`, not both (actor, critic, ref,
  rollout log-prob, reward model).
- ActorConfig/CriticConfig.validate: data.train_batch_size >= ppo_mini_batch_size.
- fsdp_workers.py: ppo_mini_batch_size × rollout.n // (GPUs / ulysses_sequence_parallel_size) must be
  > 0 and a multiple of ppo_micro_batch_size_per_gpu.
- megatron_workers.py / the Megatron engine: megatron-core's initialize_model_parallel group checks (expert
  parallel, virtual pipeline, the critic's parallel sizes) for the actor and a Megatron critic.
"""

import math

ACTOR = "actor_rollout_ref.actor"
CRITIC = "critic"


def _item(check: str, key: str, places: dict, anchor, fix: str = "", **numbers) -> dict:
    at = places.get(key, anchor)
    return {"check": check, "key": key, "fix": fix, "file": at.path, "line": at.line, "column": at.column,
            **{k: numbers.get(k, 0) for k in ("a", "b", "c", "d")}, **{k: v for k, v in numbers.items() if k not in "abcd"}}


def _ints(*values) -> bool:
    return all(isinstance(v, int) and not isinstance(v, bool) for v in values)


def _exclusive(get, places, anchor, section: str, name: str, found: list) -> None:
    total, per_gpu = get(f"{section}.{name}"), get(f"{section}.{name}_per_gpu")
    if total is None and per_gpu is None:
        found.append(_item("micro-neither", f"{section}.{name}_per_gpu", places, anchor, section=section, name=name))
    elif total is not None and per_gpu is not None:
        found.append(_item("micro-both", f"{section}.{name}", places, anchor, section=section, name=name))


def _role(get, places, anchor, section: str, gpus: int, train: int, n: int, found: list) -> None:
    mini_key = f"{section}.ppo_mini_batch_size"
    mini, micro = get(mini_key), get(f"{section}.ppo_micro_batch_size_per_gpu")
    sp = get(f"{section}.ulysses_sequence_parallel_size")
    if not _ints(mini, train):
        return
    inherited = section == CRITIC and mini_key not in places     # the actor's, through an interpolation
    if train < mini and not inherited:
        found.append(_item("train-below-mini", mini_key, places, anchor, f"{mini_key}={train}", a=train, b=mini))
        return
    if get(f"{section}.strategy") not in ("fsdp", "fsdp2") or not _ints(gpus, n, sp) or sp < 1 or gpus < sp:
        return
    dp = gpus // sp
    per_gpu = mini * n // dp
    if per_gpu == 0 and not inherited:
        smallest = -(-dp // n)
        found.append(_item("mini-below-dp", mini_key, places, anchor, f"{mini_key}={smallest}", a=mini, b=n, c=dp))
    elif _ints(micro) and micro > 0 and per_gpu % micro:
        step = micro * dp // math.gcd(micro * dp, n)   # the smallest mini-batch step keeping mini × n / dp a multiple of micro
        better = -(-mini // step) * step
        fix = f"{mini_key}={better}" if better <= train else f"{section}.ppo_micro_batch_size_per_gpu={math.gcd(per_gpu, micro)}"
        found.append(_item("mini-not-multiple-of-micro", mini_key, places, anchor, fix, a=mini, b=n, c=dp, d=per_gpu,
                           micro=micro))


def _megatron(get, places, anchor, gpus, train: int, n: int, found: list) -> None:
    sizes = {name: get(f"{ACTOR}.megatron.{name}_parallel_size") for name in ("tensor_model", "pipeline_model", "context")}
    if not _ints(gpus, *sizes.values()) or min(sizes.values()) < 1 or gpus < 1:
        return
    parallel = math.prod(sizes.values())
    written = [f"{ACTOR}.megatron.{name}_parallel_size" for name in sizes if f"{ACTOR}.megatron.{name}_parallel_size" in places]
    if gpus % parallel:
        per_node, nodes = get("trainer.n_gpus_per_node"), get("trainer.nnodes")
        step = parallel // math.gcd(parallel, nodes)     # the fewest GPUs per node that make the total divisible
        found.append(_item("megatron-gpus-not-divisible", (written or ["trainer.n_gpus_per_node"])[0], places, anchor,
                           f"trainer.n_gpus_per_node={-(-per_node // step) * step}", a=gpus, b=parallel,
                           tp=sizes["tensor_model"], pp=sizes["pipeline_model"], cp=sizes["context"]))
        return
    micro = get(f"{ACTOR}.ppo_micro_batch_size_per_gpu")
    if not _ints(train, n, micro) or micro < 1:
        return
    smallest = gpus // parallel * micro
    if (train * n) % smallest:
        step = smallest // math.gcd(smallest, n)
        found.append(_item("megatron-batch-not-divisible", "data.train_batch_size", places, anchor,
                           f"data.train_batch_size={-(-train // step) * step}", a=train, b=n, c=gpus // parallel,
                           d=micro))


def _megatron_core(get, places, anchor, gpus, section: str, found: list) -> None:
    """megatron-core's initialize_model_parallel (parallel_state.py), which verl's Megatron workers call on
    all the GPUs with the section's sizes (the actor's for actor, rollout and reference, the critic's own):
    the GPUs divisible by tensor × pipeline × context parallel (for the actor validate_config checks it first,
    in _megatron), an interleaved schedule (virtual pipeline size set) only with a pipeline, and the GPUs divisible
    by expert tensor (the tensor size when unset) × expert × pipeline parallel."""
    key = f"{section}.megatron.{{}}_parallel_size".format
    tp, pp, cp, ep = (get(key(name)) for name in ("tensor_model", "pipeline_model", "context", "expert_model"))
    etp, vpp = get(key("expert_tensor")), get(key("virtual_pipeline_model"))
    if not _ints(gpus, tp, pp, cp, ep) or min(gpus, tp, pp, cp, ep) < 1:
        return
    per_node, nodes = get("trainer.n_gpus_per_node"), get("trainer.nnodes")

    def fix(size: int) -> str:      # the fewest GPUs per node that make the total divisible by size
        step = size // math.gcd(size, nodes)
        return f"trainer.n_gpus_per_node={-(-per_node // step) * step}"
    if gpus % (tp * pp * cp):
        if section != ACTOR:
            written = [key(n) for n in ("tensor_model", "pipeline_model", "context") if key(n) in places]
            found.append(_item("megatron-core-not-divisible", (written or ["trainer.n_gpus_per_node"])[0], places, anchor,
                               fix(tp * pp * cp), a=gpus, b=tp * pp * cp, section=section, tp=tp, pp=pp, cp=cp))
        return
    if vpp is not None and pp <= 1:
        found.append(_item("megatron-vpp-without-pipeline", key("virtual_pipeline_model"), places, anchor,
                           f"{key('virtual_pipeline_model')}=null", a=vpp if _ints(vpp) else 0, b=pp, section=section))
        return
    etp = tp if etp is None else etp
    if _ints(etp) and etp >= 1 and gpus % (etp * ep * pp):
        written = [key(n) for n in ("expert_model", "expert_tensor") if key(n) in places]
        size = math.lcm(tp * pp * cp, etp * ep * pp)
        found.append(_item("megatron-expert-not-divisible", (written or ["trainer.n_gpus_per_node"])[0], places, anchor,
                           fix(size), a=gpus, b=etp * ep * pp, c=ep, d=etp, pp=pp, section=section))


def checks(get, places: dict, anchor) -> list:
    found = []
    per_node, nodes = get("trainer.n_gpus_per_node"), get("trainer.nnodes")
    gpus = per_node * nodes if _ints(per_node, nodes) else None
    train, n = get("data.train_batch_size"), get("actor_rollout_ref.rollout.n")
    actor_dynamic = get(f"{ACTOR}.use_dynamic_bsz")
    if actor_dynamic is False:
        _exclusive(get, places, anchor, ACTOR, "ppo_micro_batch_size", found)
        if get(f"{ACTOR}.strategy") in ("fsdp", "fsdp2") and _ints(gpus, train, n) and gpus > 0 and (train * n) % gpus:
            step = gpus // math.gcd(gpus, n)
            found.append(_item("real-batch-not-divisible", "data.train_batch_size", places, anchor,
                               f"data.train_batch_size={-(-train // step) * step}", a=train, b=n, c=gpus))
        if get(f"{ACTOR}.strategy") == "megatron":
            _megatron(get, places, anchor, gpus, train, n, found)
        _role(get, places, anchor, ACTOR, gpus, train, n, found)
        if get("algorithm.use_kl_in_reward") is True or get(f"{ACTOR}.use_kl_loss") is True:
            _exclusive(get, places, anchor, "actor_rollout_ref.ref", "log_prob_micro_batch_size", found)
        _exclusive(get, places, anchor, "actor_rollout_ref.rollout", "log_prob_micro_batch_size", found)
    if get("reward_model.enable") is True and get("reward_model.use_dynamic_bsz") is False \
            and get("reward_model.use_reward_loop") is not True:
        _exclusive(get, places, anchor, "reward_model", "micro_batch_size", found)
    critic = get("critic.enable")
    critic = critic is True or critic is None and get("algorithm.adv_estimator") == "gae"
    for section, used in ((ACTOR, True), (CRITIC, critic)):
        if used and get(f"{section}.strategy") == "megatron":
            _megatron_core(get, places, anchor, gpus, section, found)
    if critic and get(f"{CRITIC}.use_dynamic_bsz") is False:
        _exclusive(get, places, anchor, CRITIC, "ppo_micro_batch_size", found)
        _role(get, places, anchor, CRITIC, gpus, train, n, found)
    return found
