"""docs/facts.md: every fact a rule may read, with its type, meaning, the inputs that set it and an
example value seen in the rules' own examples. Meanings are written per path or per subtree (the
nearest entry above a path explains it); a test keeps the table and the facts in step."""

import json

from .fact_paths import SET_BY, shapes, type_name

MEANINGS = {
    "input": "What the subject was read from.",
    "input.kind": "The reader that produced the subject (`deepspeed`, `openrlhf`, a trainer, a checkpoint).",
    "launch": "The OpenRLHF launch a model belongs to.",
    "launch.entrypoint": "The OpenRLHF entrypoint launched (`train_rm` for `openrlhf.cli.train_rm`, `train_ppo_ray`, ...).",
    "launch.generation": "OpenRLHF's command-line generation the flags belong to (1, 2 or 3).",
    "launch.generation_label": "That generation as text, with its releases.",
    "launch.releases": "The OpenRLHF releases whose flags the launch uses.",
    "launch.launcher": "The program that starts it: `deepspeed`, `torchrun`, `python`, `ray job submit`, ...",
    "launch.oldest_version": "The oldest OpenRLHF release that accepts every flag given, as a number (0.9.1 is 901).",
    "launch.newest_version": "The newest OpenRLHF release that accepts every flag given, as a number (0.9.1 is 901).",
    "launch.world_size": "GPUs of the launch (0 when not known).",
    "launch.gpus_from": "Where the GPU count came from: the launcher's options (`--num_gpus 8`) or the machine "
                        "(`CUDA_VISIBLE_DEVICES=0,1,2`, `nvidia-smi -L`); empty when not known.",
    "launch.pinned": "The target OpenRLHF release and its source, when the flag table holds it (else empty).",
    "launch.pin_missing": "The given flags the target OpenRLHF release does not have.",
    "launch.pin_conflict": "The target OpenRLHF release is not one the flags fit.",
    "launch.opaque": "The command holds words rmlint cannot read (`$ARGS`), so any flag may be set.",
    "launch.problems": "Flags that no release in range accepts, or that mix generations.",
    "args": "OpenRLHF settings by concept, whatever flag name the release uses; the release's default when "
            "not given.",
    "args.zero_stage": "ZeRO stage (`--zero_stage`).",
    "args.load_in_4bit": "4-bit (QLoRA) loading of the trained model (`--load_in_4bit`).",
    "args.lora_rank": "LoRA rank; 0 trains the full model.",
    "args.target_modules": "LoRA target modules (`all-linear` or a list).",
    "args.dtype": "The training dtype the flags give: `bf16`, `fp16` or `fp32`.",
    "args.attn": "The attention implementation the flags give.",
    "args.packing_forces_flash": "Packing switches attention to flash attention in this release.",
    "args.critic_inits_head": "The critic is built with a fresh value head from its pretrain path.",
    "args.head_in_targets": "The LoRA targets include the value head.",
    "args.lora_head_wrapped": "The releases (of those the flags fit) in which LoRA wraps the value head, \"\" for none.",
    "args.lora_head_frozen": "The releases in which LoRA leaves the value head frozen and out of the adapter.",
    "args.lora_frozen_targets": "What LoRA targets in those releases (the list, or the rule the release used).",
    "role": "One model of the launch (actor, critic, reward, reference, or the model of train_rm/sft/dpo).",
    "role.kind": "The model's role: `rm_train`, `sft_train`, `actor`, `critic`, `reward`, `ref`, ...",
    "role.name": "The role's name as messages show it.",
    "role.trained": "The launch trains this model.",
    "role.path": "The model path or hub id the role loads.",
    "role.value_head": "The model carries a value head (reward model or critic).",
    "role.init_value_head": "The value head is initialised fresh at load.",
    "role.same_model_as_actor": "The role loads the same path as the actor.",
    "role.lora_rank": "LoRA rank of this role (0 for a full model).",
    "role.load_in_4bit": "This role is loaded in 4 bits.",
    "role.gpus": "GPUs this role runs on (0 when not known).",
    "role.gpus_from": "Where that count came from (the launcher, the machine, or the role's Ray flags).",
    "role.deepspeed": "This role runs under DeepSpeed.",
    "role.saves_weights": "The launch saves this role's weights.",
    "role.batch": "The role's batch arithmetic: global and micro batch, per-step samples, remainders, "
                  "gradient accumulation.",
    "ds": "The DeepSpeed config as DeepSpeed reads it (keys normalised, defaults filled in).",
    "versions": "The release of each package the input runs with: `text`, `number` (0.16.4 is 1604; 0 when "
                "unknown), `source` (settings, installed, a pin's file:line, unknown), `shown` (both as text).",
    "ds.present": "A DeepSpeed config exists for the subject.",
    "ds.consumer": "Who hands the config to DeepSpeed: `unknown` (a file), `accelerate`, `hf-trainer`, `openrlhf`.",
    "ds.zero_optimization": "The `zero_optimization` block, with DeepSpeed's defaults.",
    "ds.zero_optimization.gather_written": "`stage3_gather_16bit_weights_on_model_save` is written in the file.",
    "ds.optimizer": "The `optimizer` block (`present` false when absent; `params` as written).",
    "ds.scheduler": "The `scheduler` block (`present` false when absent; `params` as written).",
    "ds.fp16": "The `fp16` block (`present`: written in the file).",
    "ds.bf16": "The `bf16` block (`present`: written in the file).",
    "ds.bfloat16": "The legacy `bfloat16` block (`present`: written in the file).",
    "ds.items": "Keys DeepSpeed would refuse or ignore, one list per kind: unknown, ignored, deprecated, removed, "
                "`auto` values, strings for numbers (slips), conflicting pairs, duplicates, invalid values. "
                "Each item has `path`, `key`, `line`, `column` and kind-specific fields.",
    "ckpt": "A checkpoint (folder or weight file) as `rmlint inspect` reads it: format, tensors, head, "
            "quantization, LoRA layout.",
    "ckpt.available": "The checkpoint is on this machine and was read.",
    "ckpt.reason": "Why it was not read (not found, not in the Hugging Face cache).",
    "ckpt.path": "The checkpoint's path.",
    "ckpt.format": "Weight format (`safetensors`, `bin`, DeepSpeed ZeRO shards, ...).",
    "ckpt.adapter": "The checkpoint is a PEFT adapter.",
    "ckpt.deepspeed": "The checkpoint is DeepSpeed ZeRO shards (`ds_stage`, `ds_ranks`, `ds_tag` describe them).",
    "ckpt.tensors": "Number of tensors.",
    "ckpt.size": "Size in bytes.",
    "ckpt.has_config": "A config.json is beside the weights.",
    "ckpt.architectures": "`architectures` of config.json.",
    "ckpt.prefix": "The head prefix the consumer expects (`value_head_prefix`).",
    "ckpt.other_heads": "Head-like tensors under another prefix.",
    "ckpt.quantized": "The weights are quantized (`quant_bits`, `quant_text` say how).",
    "ckpt.missing_shards": "Shards the index names that are not there.",
    "ckpt.misplaced": "Tensors stored in a shard other than the one the index names.",
    "ckpt.empty_tensors": "Tensors with no elements (ZeRO-3 saves without gathering).",
    "ckpt.head": "The value or score head found in the weights: name, shape, dtype and what its values say "
                 "(zeros, placeholder, fresh initialisation).",
    "ckpt.lora": "The PEFT adapter: rank, task type, modules_to_save, whether the head is saved or targeted.",
    "trainer": "A LLaMA-Factory, TRL, axolotl, verl or DeepSpeed-Chat run (config file or command line), normalised.",
    "trainer.framework": "`llamafactory`, `trl`, `axolotl`, `verl` or `deepspeed_chat`.",
    "trainer.label": "The framework and stage as messages show them.",
    "trainer.stage": "What is trained: `sft`, `rm`, `prm`, `ppo`, `dpo`, ...",
    "trainer.finetuning": "Full, freeze or LoRA fine-tuning.",
    "trainer.lora_rank": "LoRA rank (0: no adapter).",
    "trainer.lora_targets": "LoRA target modules as the run names them.",
    "trainer.modules_to_save": "Modules trained and saved in full beside the adapter.",
    "trainer.task_type": "PEFT task type (`SEQ_CLS`, `CAUSAL_LM`, ...).",
    "trainer.head": "The model's score or value head name.",
    "trainer.head_in_targets": "The LoRA targets include the head.",
    "trainer.head_saved": "The adapter saves the head's weights.",
    "trainer.quantization_bit": "Bits of quantized loading (0: none).",
    "trainer.quantization_method": "The quantization library (`bitsandbytes`, ...).",
    "trainer.quant_storage": "bitsandbytes' `bnb_4bit_quant_storage` as the run sets it.",
    "trainer.zero_stage": "ZeRO stage of the DeepSpeed config the run names (0: none).",
    "trainer.deepspeed_file": "The DeepSpeed config file the run names.",
    "trainer.gpus": "GPUs of the run (0 when not known).",
    "trainer.bf16": "bf16 mixed precision is on.",
    "trainer.fp16": "fp16 mixed precision is on.",
    "trainer.pure_bf16": "LLaMA-Factory's `pure_bf16` (weights kept in bf16, no fp32 master copy).",
    "trainer.packing": "Sequence packing is on.",
    "trainer.reward_model": "The reward model a PPO run scores with.",
    "trainer.keys": "The framework's own key names for each setting, for messages and fixes.",
    "reward": "Is the PPO reward model a reward model: told from the launch, and from config.json where readable.",
    "reward.path": "The reward model's path or hub id as written.",
    "reward.setting": "The flag or key that names it (`--reward_pretrain`, `reward_model_path`, `reward_model`).",
    "reward.policy": "The policy's model it is compared with.",
    "reward.policy_setting": "The flag or key that names the policy's model.",
    "reward.same_as_policy": "The reward model is the policy's own model (the same path, maybe written otherwise).",
    "reward.feeds_ids": "The framework feeds the reward model the policy's token ids (no re-tokenising).",
    "reward.family": "The reward model's tokenizer family (`Llama-3`, `Qwen2`, ...; \"\" when not known).",
    "reward.family_from": "Where the family comes from: `config.json` or `its name`.",
    "reward.policy_family": "The policy's tokenizer family.",
    "reward.policy_family_from": "Where the policy's family comes from.",
    "reward.family_differs": "Both families are known, differ, and the framework feeds token ids.",
    "reward.chat_word": "The chat/instruct/base word of a reward model named like no reward model, when its "
                        "checkpoint was not read.",
    "reward.holds": "LLaMA-Factory: what the reward_model path holds that its reward_model_type cannot load.",
    "reward.holds_text": "That, as a sentence.",
    "reward.combine": "lora_combiner --is_rm: `lora-on-head`, `head-saved`, `no-head` or `unread`.",
    "reward.combine_tensor": "The adapter tensor that does not fit the combiner's 2-output head.",
    "reward.combine_shapes": "Its shape and the one the combiner's model has.",
    "reward.combine_base": "The base model the combiner loads (`--model_path`).",
    "trainer.batch": "The run's batch arithmetic: micro batch, accumulation, mini batches, remainders.",
    "trainer.typos": "Keys the framework does not know, each with the closest known key.",
    "trainer.refused": "Command-line keys the framework refuses (verl's Hydra in struct mode, DeepSpeed-Chat's argparse): "
                       "each with the error it prints, the closest known key (`hint`, may be empty) and its place.",
    "trainer.checks": "Checks the framework makes after the GPUs are allocated that this run fails (verl's batch "
                      "validation, DeepSpeed-Chat's parse_args checks, version-dependent head freezes): each with "
                      "`check` (its name), the key it is reported at, its numbers (`a`..`d`) and the smallest fix.",
    "trainer.reward_retokenizes": "The trainer decodes the rollouts and tokenises them again for the reward model "
                                  "(verl with reward_model.model.input_tokenizer set): a reward model of another "
                                  "family is fine.",
}


def meaning(path: str) -> str:
    """The nearest written meaning: the path's own, else its subtree's."""
    parts = path.split(".")
    for end in range(len(parts), 0, -1):
        found = MEANINGS.get(".".join(parts[:end]))
        if found is not None and end == 1 and parts[0] in ("args", "ds") and len(parts) > 1:
            return {"args": f"OpenRLHF's `{parts[1]}` setting: the flag for it in the release launched, else that "
                            "release's default.",
                    "ds": f"DeepSpeed's `{'.'.join(parts[1:])}`: as written, else DeepSpeed's default."}[parts[0]]
        if found is not None:
            return found if end == len(parts) else f"({'.'.join(parts[:end])}) {found}"
    return ""


def observed() -> dict:
    """fact path -> the first value differing from its default among the subjects of the rules' own
    examples: real values, the same on every machine."""
    from .examples import example_subjects
    from .rules import builtin
    defaults, seen = shapes(), {}
    for rule in builtin():
        for example in rule.examples.bad + rule.examples.good:
            for subject in example_subjects(example)[0]:
                _collect(subject.facts, "", defaults, seen)
    return seen


def _collect(value, path: str, defaults: dict, seen: dict):
    if isinstance(value, dict):
        for key, inner in value.items():
            _collect(inner, f"{path}.{key}" if path else key, defaults, seen)
    elif path in defaults and path not in seen and value != defaults[path] and value not in ("", None, [], 0):
        seen[path] = value


def _show(value) -> str:
    from .examples import checkout, fixtures_dir   # examples name files by absolute path: the page is the same everywhere
    text = json.dumps(value, default=str).replace("`", "'").replace(fixtures_dir(), "{fixtures}").replace(
        checkout(), "{root}")
    return f"`{text if len(text) <= 60 else text[:57] + '...'}`".replace("|", "\\|")


def markdown() -> str:
    examples = observed()
    lines = ["# rmlint facts", "", "Generated by `rmlint facts --format markdown`; do not edit by hand.", "",
             "The facts a rule's `when`, `for_each` and `at` may read (see \"Write your first rule\" in the README).",
             "Every subject carries every root with these defaults; a rule reads a fact only where the input "
             "sets it or rmlint knows its default (facts rmlint cannot know make the rule stay silent).",
             "A pack naming a fact that is not here fails to load.", ""]
    for root, set_by in SET_BY.items():
        lines += [f"## {root}", "", f"{MEANINGS[root]} Set by: {set_by}.", "",
                  "| fact | type | default | example | meaning |", "| --- | --- | --- | --- | --- |"]
        for path, value in shapes().items():
            if path.split(".")[0] != root or path == root:
                continue
            example = _show(examples[path]) if path in examples else ""
            lines.append(f"| `{path}` | {type_name(value)} | {_show(value)} | {example} | "
                         f"{meaning(path).replace('|', chr(92) + '|')} |")
        lines.append("")
    return "\n".join(lines)


def text() -> str:
    return "".join(f"{path}\t{type_name(value)}\n" for path, value in shapes().items() if "." in path)
