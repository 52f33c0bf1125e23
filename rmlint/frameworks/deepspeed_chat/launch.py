"""A DeepSpeed-Chat launch (`deepspeed main.py --flags` in training/step{1,2,3}_*/) as a `trainer` subject
plus the DeepSpeed configs it builds for the models it trains.

- step 2 with `--lora_dim > 0 --only_optimize_lora`: until DeepSpeedExamples PR #758 (5161c0ff, 2023-10-16)
  only_optimize_lora_parameters froze every parameter but LoRA's, v_head included, so the reward head
  stayed at its random init; main.py on disk says which side of the fix a checkout is on.
- step 3: the critic and reward models are both loaded from --critic_model_name_or_path (a step-2 output
  with a v_head); `--enable_hybrid_engine` with `--actor_zero_stage 3` on a Llama-2 actor generates
  empty or repeated tokens (DeepSpeedExamples #864, #794); parse_args' own checks (inference_tp_size > 1
  needs actor ZeRO-3; ZeRO-2 + hybrid engine + offload without LoRA is refused).
"""

import os
import re

from ...finding import Location
from . import flags as dsflags
from .dsconfig import train_config

LLAMA2 = re.compile(r"llama-?2", re.I)


def _source_fixed(main_py: str | None) -> tuple:
    """(fixed, commit text) from the step-2 main.py on disk: True when it passes force_optimize_params."""
    fix = dsflags.snapshot()["lora_head_fix"]
    if not main_py:
        return None, fix
    from ...finding import SourceError
    from ...sources.text import read_text
    try:
        text = read_text(main_py)
    except SourceError:
        return None, fix
    return "force_optimize_params" in text, fix


def _llama2(path) -> bool:
    if not isinstance(path, str):
        return False
    if LLAMA2.search(path):
        return True
    config = os.path.join(path, "config.json")
    if os.path.isfile(config) and os.path.getsize(config) < 1_000_000:
        import json
        try:
            from ...sources.files import read_input
            data = json.loads(read_input(config, 1_000_000))
        except (OSError, ValueError):
            return False
        return isinstance(data, dict) and data.get("model_type") == "llama" and data.get("vocab_size") == 32000
    return False


def _item(check: str, key: str, places: dict, anchor: Location, **more) -> dict:
    at = places.get(key.lstrip("-"), anchor)
    return {"check": check, "key": key, "fix": "", "file": at.path, "line": at.line, "column": at.column,
            "a": 0, "b": 0, "c": 0, "d": 0, **more}


def _checks(step: str, get, places: dict, anchor: Location, main_py: str | None) -> list:
    found = []
    if step == "rm" and isinstance(get("lora_dim"), int) and get("lora_dim") > 0 and get("only_optimize_lora") is True:
        fixed, fix = _source_fixed(main_py)
        if fixed is False:
            found.append(_item("lora-head-frozen", "--only_optimize_lora", places, anchor, commit=fix["commit"][:8],
                               date=fix["date"], main=main_py))
        elif fixed is None:
            found.append(_item("lora-head-frozen-maybe", "--only_optimize_lora", places, anchor,
                               commit=fix["commit"][:8], date=fix["date"]))
    if step == "ppo":
        stage, hybrid = get("actor_zero_stage"), get("enable_hybrid_engine")
        if hybrid is True and stage == 3 and _llama2(get("actor_model_name_or_path")):
            found.append(_item("hybrid-engine-zero3-llama2", "--enable_hybrid_engine", places, anchor,
                               actor=get("actor_model_name_or_path")))
        tp = get("inference_tp_size")
        if isinstance(tp, int) and tp > 1 and isinstance(stage, int) and stage != 3:
            found.append(_item("inference-tp-needs-zero3", "--inference_tp_size", places, anchor, a=tp, b=stage))
        lora = get("actor_lora_dim")
        if stage == 2 and get("critic_zero_stage") == 2 and hybrid is True and get("offload") is True and lora == 0:
            found.append(_item("zero2-hybrid-offload", "--enable_hybrid_engine", places, anchor))
    return found


def subjects(step: str, args: list, anchor: Location, world: int, main_py: str | None) -> tuple:
    from ..deepspeed.subjects import deepspeed_subject
    from ...sources.document import Document
    from ..trainer.common import TrainerSettings, subject
    from ..trainer.defaults import defaults
    parsed = dsflags.parse(step, args, anchor)
    get = lambda dest: dsflags.get(parsed, step, dest)   # noqa: E731
    trainer = defaults()
    trainer.update(framework="deepspeed_chat", stage=step, refused=parsed.refused,
                   checks=_checks(step, get, parsed.places, anchor, main_py), gpus=world)
    lora_flag = "actor_lora_dim" if step == "ppo" else "lora_dim"
    rank = get(lora_flag)
    if isinstance(rank, int) and rank > 0:
        trainer.update(finetuning="lora", lora_rank=rank)
    else:
        trainer["finetuning"] = "full"
    unknown = set()
    places = {dest: at for dest, at in parsed.places.items()}
    model_key = "actor_model_name_or_path" if step == "ppo" else "model_name_or_path"
    values = {}
    if step == "ppo":
        critic = get("critic_model_name_or_path")
        trainer["reward_model"] = critic if isinstance(critic, str) else ""
        if not isinstance(critic, str):
            unknown.add("trainer.reward_model")
        else:
            values["critic_model_name_or_path"] = critic
        if isinstance(get("actor_model_name_or_path"), str):     # the reward model must not be the policy
            values["actor_model_name_or_path"] = get("actor_model_name_or_path")
        trainer["keys"].update(reward_model="critic_model_name_or_path")
    trainer["keys"].update(adapter=lora_flag)
    settings = TrainerSettings(values, places, anchor)
    made = subject(settings, trainer, {"reward_model": "critic_model_name_or_path", "lora_rank": lora_flag},
                   unknown, "deepspeed_chat", model_key)
    result = [made]
    dtype = get("dtype") or "fp16"
    roles = [("actor", "actor_zero_stage"), ("critic", "critic_zero_stage")] if step == "ppo" else [("model", "zero_stage")]
    for role, stage_flag in roles:
        stage, offload = get(stage_flag), get("offload")
        if not isinstance(stage, int) or not isinstance(offload, bool):
            continue
        micro = get("per_device_training_batch_size" if step == "ppo" else "per_device_train_batch_size")
        accumulation = get("gradient_accumulation_steps_actor") if role == "actor" and \
            "gradient_accumulation_steps_actor" in parsed.values else get("gradient_accumulation_steps")
        config = train_config(stage, offload, str(dtype), hybrid=role == "actor" and get("enable_hybrid_engine") is True,
                              inference_tp=get("inference_tp_size") or 1, micro=micro, world=world,
                              accumulation=accumulation if isinstance(accumulation, int) else 1)
        where = {("zero_optimization", "stage"): places.get(stage_flag, anchor),
                 ("zero_optimization", "offload_param"): places.get("offload", anchor),
                 ("zero_optimization", "offload_optimizer"): places.get("offload", anchor)}
        positions = {(key,): (anchor.line, anchor.column) for key in config}
        positions.update({path: (at.line, at.column) for path, at in where.items() if at.path == anchor.path})
        ds = deepspeed_subject(Document(anchor.path, config, positions), "deepspeed")
        ds.world_size = world
        result.append(ds)
    return result, []
