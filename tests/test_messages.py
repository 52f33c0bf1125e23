"""Messages composed in the rule's YAML from structured facts (no fact pre-formats words): the template
language (`{fact}`, `{fact|, }`, `{if fact}...{else}...{end}`) and the exact messages of the rules whose
facts used to be message fragments, the same words as before the change."""

import json

import pytest

from conftest import FIXTURES, ROOT, cli
from rmlint.engine import render
from lint_examples import lint_example
from rmlint.rules import builtin

FACTS = {"item": {"hint": "lora_rank", "none": "", "keys": ["a", "b"], "empty": [], "zero": 0, "ratio": 0.9661,
                  "std": 0.014912345, "value": 1e-07}}


@pytest.mark.parametrize("template, shown", [
    ("x{if item.hint}; did you mean `{item.hint}`?{end}", "x; did you mean `lora_rank`?"),
    ("x{if item.none}; did you mean `{item.none}`?{end}", "x"),
    ("x{if item.absent}; did you mean `{item.absent}`?{end}", "x"),
    ("({if item.keys}[{item.keys|, }]{else}none{end})", "([a, b])"),
    ("({if item.empty}[{item.empty|, }]{else}none{end})", "(none)"),
    ("{if item.zero}some{else}no{end} {item.keys} {item.keys|+}", "no a b a+b"),
    ("{item.absent}", "<missing item.absent>"),
    ("{if item.hint == 'lora_rank'}same{elif item.hint}other{else}none{end}", "same"),
    ("{if item.hint != 'lora_rank'}differs{elif item.zero}zero{else}neither{end}", "neither"),
    ("{if item.none == ''}empty{end} {if item.absent == 'x'}x{elif item.absent != 'x'}not x{end}", "empty not x"),
    ("{if item.keys}a{if item.zero}b{else}c{end}d{else}e{if item.hint}f{end}{end}", "acd"),
    ("{if item.empty}a{if item.zero}b{end}{elif item.hint}{if item.none}x{else}y{end}z{end}", "yz"),
    ("{item.ratio:.2f} {item.std:.4g} {item.value:g} {item.zero:.2f} {item.ratio}", "0.97 0.01491 1e-07 0.00 0.9661"),
    ("{item.hint:.2f} {item.keys:g}", "lora_rank a b"),
    ("gradient_checkpointing_kwargs: {use_reentrant: false}", "gradient_checkpointing_kwargs: {use_reentrant: false}"),
])
def test_message_templates(template, shown):
    assert render(template, FACTS) == shown


RULES = {rule.id: rule for rule in builtin()}


@pytest.mark.parametrize("rule_id, example, message", [
    ("RM207", 0, "unknown key `zero_optimization.stage3_gather_16bit_weight_on_model_save`: DeepSpeed's "
                 "`zero_optimization` block forbids extra keys; did you mean `stage3_gather_16bit_weights_on_model_save`?"),
    ("RM208", 0, "DeepSpeed ignores `train_micro_batch_size_per_gp` without a word; did you mean "
                 "`train_micro_batch_size_per_gpu`?"),
    ("RM208", 1, "DeepSpeed ignores `comms_config` without a word"),
    ("RM250", 0, "`zero_optimization.stage3_new_knob` is not a key of DeepSpeed <= 0.19.8, the newest release rmlint "
                 "knows, and the target is DeepSpeed 0.99.0 (the example): it may be new there"),
    ("RM247", 0, "4-bit QLoRA under ZeRO-3 ({root}/sample_configs/deepspeed-llamafactory/ds_z3_config.json) with "
                 "`bnb_4bit_quant_storage` unset (uint8): ZeRO-3 can only shard 4-bit weights stored in the model's dtype"),
    ("RM247", 1, "4-bit QLoRA under ZeRO-3 ({root}/sample_configs/deepspeed-llamafactory/ds_z3_config.json) with "
                 "`bnb_4bit_quant_storage` bfloat16 but dtype float16: ZeRO-3 can only shard 4-bit weights stored in "
                 "the model's dtype"),
    ("RM307", 0, "batch settings micro_batch_size: axolotl needs two of micro_batch_size, gradient_accumulation_steps "
                 "and batch_size, and refuses gradient_accumulation_steps together with batch_size"),
    ("RM307", 1, "batch settings micro_batch_size, gradient_accumulation_steps, batch_size: axolotl needs two of "
                 "micro_batch_size, gradient_accumulation_steps and batch_size, and refuses "
                 "gradient_accumulation_steps together with batch_size"),
    ("RM401", 0, "unknown flag `--lora_rnk` for train_rm; did you mean `--lora_rank`?"),
    ("RM402", 0, "`--bf16` exists only in OpenRLHF <= 0.9.1.post1, but the other flags are from >= 0.10.2"),
    ("RM420", 0, "`--algo.kl.zzz_future_knob` is not a flag of train_ppo_ray in OpenRLHF up to 0.11.2, the newest "
                 "release rmlint knows; if it comes from a newer release or a fork, nothing that depends on it was "
                 "checked"),
    ("RM421", 0, "`../train_rm.py`: OpenRLHF <= 0.3.5 only can run it as a script, but the flags fit OpenRLHF "
                 "0.9.2 - 0.10.1.post2; run `--module openrlhf.cli.train_rm`"),
    ("RM611", 0, "adapter_config.json modules_to_save (none) does not name the head `score`: PEFT trained and saved "
                 "no copy of it"),
    ("RM611", 1, "adapter_config.json modules_to_save ([classifier, score]) does not name the head `value_head`: "
                 "PEFT trained and saved no copy of it"),
    ("RM613", 1, "head `score.weight` has 2 outputs (shape [2, 64]); a reward model or critic has one (num_labels=1)"),
    ("RM622", 1, "value head `value_head.weight` has shape [1, 128], but config.json's hidden size is 64: the head "
                 "belongs to another model"),
])
def test_messages_composed_from_structured_facts(rule_id, example, message):
    findings = lint_example(RULES[rule_id].examples.bad[example]).findings
    assert [f.message for f in findings if f.rule == rule_id] == [message.replace("{root}", str(ROOT))]


@pytest.mark.parametrize("name, script, message", [
    ("verl.sh", 'python3 -m verl.trainer.main_ppo reward_model.enable=True reward_model.model.path="" '
                "actor_rollout_ref.model.path=Qwen/Qwen2.5-7B\n",
     "PPO without `reward_model.model.path`: verl scores with the reward function only when reward_model.enable is false"),
    ("ds.sh", 'deepspeed training/step3_rlhf_finetuning/main.py --actor_model_name_or_path a '
              '--critic_model_name_or_path="" --data_path x\n',
     "PPO without `critic_model_name_or_path`: step 3 loads its reward and critic models from "
     "--critic_model_name_or_path"),
])
def test_ppo_without_reward_model_says_what_each_framework_does(tmp_path, name, script, message):
    (tmp_path / name).write_text(script)
    result = cli("check", str(tmp_path / name), "--select", "RM242", "--format", "json")
    assert [f["message"] for f in json.loads(result.output)["findings"]] == [message]


@pytest.mark.parametrize("adapter, prefix, why", [
    ("peft_lora_head_only_lora", "value_head", "only its LoRA factors `value_head.lora_A/lora_B` are saved; the randomly "
                                               "initialised base weight they sit on is in no file"),
    ("peft_lora_no_head", "score", "the head was left out of the adapter (frozen, or not named in modules_to_save)"),
])
def test_adapter_without_value_head_says_which_way_the_head_was_lost(adapter, prefix, why):
    path = str(FIXTURES / adapter)
    result = cli("inspect", path, "--select", "RM610", "--format", "json")
    assert [f["message"] for f in json.loads(result.output)["findings"]] == [
        f"adapter `{path}` holds no `{prefix}.weight`: {why}; base + adapter gives a random head"]


@pytest.mark.parametrize("reward, kind, holds", [
    ("localhost:8000/score", "api", "is not an http(s) URL: LLaMA-Factory asserts it starts with http and stops"),
    ("http://rm:8000/score", "lora", "is a URL: reward_model_type lora loads a model from a path or hub id"),
    ("{fixtures}/hf_seqcls", "lora", "holds a full model, not a LoRA adapter: LLaMA-Factory calls load_adapter on "
                                     "it, which needs adapter_config.json"),
    ("{fixtures}/peft_lora_no_head", "lora", "is an adapter without value_head.safetensors or value_head.bin: "
                                             "LLaMA-Factory asserts \"Reward model is not correctly loaded.\""),
    ("{fixtures}/llamafactory_lora_rm", "full", "is a LoRA adapter folder (no config.json): reward_model_type full "
                                                "loads it as a whole model; use reward_model_type: lora"),
])
def test_llamafactory_reward_model_type_mismatch_words_each_case(tmp_path, reward, kind, holds):
    reward = reward.replace("{fixtures}", str(FIXTURES))
    (tmp_path / "ppo.yaml").write_text(f"model_name_or_path: m\nstage: ppo\nfinetuning_type: lora\n"
                                       f"reward_model: {reward}\nreward_model_type: {kind}\n")
    result = cli("check", str(tmp_path / "ppo.yaml"), "--select", "RM635", "--format", "json")
    assert [f["message"] for f in json.loads(result.output)["findings"]] == [
        f"reward_model_type: {kind}, but `{reward}` {holds}"]


ZERO3 = ROOT / "sample_configs" / "deepspeed-llamafactory" / "ds_z3_config.json"
RECOMPUTATION = ("recomputation under ZeRO-3 can fail with a CheckpointError about recomputed values (axolotl warns "
                 "for QLoRA; TRL forces use_reentrant true here, trl#2514)")
AXOLOTL = ("base_model: m\n{head}micro_batch_size: 2\ngradient_accumulation_steps: 4\n{adapter}gradient_checkpointing: "
           "true\ngradient_checkpointing_kwargs: {{use_reentrant: false}}\ndeepspeed: {ds}\n")


@pytest.mark.parametrize("name, text, effect", [
    ("trl.yaml", "model_name_or_path: m\nuse_peft: true\nlora_task_type: SEQ_CLS\ngradient_checkpointing_kwargs: "
                 "{{use_reentrant: false}}\ndeepspeed: {ds}\n",
     "TRL's RewardTrainer overrides it to true with a warning (trl#2514)"),
    ("rm.yaml", AXOLOTL.replace("{head}", "reward_model: true\n").replace("{adapter}", "adapter: qlora\nload_in_4bit: true\n"),
     RECOMPUTATION),
    ("dpo.yaml", AXOLOTL.replace("{head}", "rl: dpo\n").replace("{adapter}", "adapter: qlora\nload_in_4bit: true\n"),
     "axolotl warns of a CheckpointError about recomputed values, yet refuses use_reentrant true for distributed RL "
     "with QLoRA (RM629), so keep it"),
    ("dpo.yaml", AXOLOTL.replace("{head}", "rl: dpo\n").replace("{adapter}", "adapter: lora\n"), RECOMPUTATION),
])
def test_non_reentrant_checkpointing_says_what_each_trainer_does(tmp_path, name, text, effect):
    (tmp_path / name).write_text(text.format(ds=ZERO3))
    result = cli("check", str(tmp_path / name), "--select", "RM628", "--format", "json")
    assert [f["message"] for f in json.loads(result.output)["findings"]] == [
        f"use_reentrant false with LoRA under ZeRO-3 ({ZERO3}): {effect}"]


@pytest.mark.parametrize("checkpoint, says", [
    ("zero3_empty_head", "21 of 21 tensors are empty (shape [0]), e.g. `model.embed_tokens.weight`: ZeRO-3 partitions "
                         "saved without gathering"),
    ("peft_no_tensors", "adapter_model.safetensors holds no tensors at all"),
])
def test_empty_weights_say_how_many_or_which_file(checkpoint, says):
    path = str(FIXTURES / checkpoint)
    result = cli("inspect", path, "--select", "RM616", "--format", "json")
    assert [f["message"] for f in json.loads(result.output)["findings"]] == [f"`{path}`: {says}"]
