"""TRL and axolotl launches: read into the shared trainer facts (recipes, command lines, the
accelerate config they run under), and the cross-framework rules on them."""

import json
import os
import shutil

import pytest

from rmlint import lint_paths

from conftest import ROOT, SAMPLES, cli

TRL_BROKEN = SAMPLES / "trl-broken-qlora-zero3"
AXOLOTL_BROKEN = SAMPLES / "axolotl-broken-qlora-rm"


def findings(*paths):
    result = cli("check", "--format", "json", *map(str, paths))
    return [(f["rule"], os.path.basename(f["path"]), f["line"]) for f in json.loads(result.output)["findings"]]


def script_findings(tmp_path, text, files=None):
    for name, body in (files or {}).items():
        (tmp_path / name).write_text(body)
    script = tmp_path / "run.sh"
    script.write_text("#!/bin/bash\n" + text)
    return [(rule, line) for rule, name, line in findings(script)]


def test_trl_broken_sample():
    assert findings(TRL_BROKEN) == [
        ("RM242", "ppo_tldr.yaml", 1), ("RM305", "ppo_tldr.yaml", 9),
        ("RM240", "reward_qlora.yaml", 8), ("RM247", "reward_qlora.yaml", 15),
        ("RM624", "train_rm.sh", 5), ("RM625", "train_rm.sh", 8), ("RM628", "train_rm.sh", 9)]


def test_a_recipe_a_script_launches_is_judged_once_as_that_launch():
    """Walked alone the recipe has no ZeRO-3 (that comes from the accelerate config) and nothing to say
    about the head name (that comes from a flag): as part of the launch it has both, and only that."""
    alone = findings(TRL_BROKEN / "reward_qlora.yaml")
    assert alone == [("RM624", "reward_qlora.yaml", 1), ("RM240", "reward_qlora.yaml", 8)]   # a reward recipe by name
    together = findings(TRL_BROKEN / "train_rm.sh", TRL_BROKEN / "reward_qlora.yaml")
    assert together.count(("RM240", "reward_qlora.yaml", 8)) == 1
    assert [f for f in together if f[0] == "RM624"] == [("RM624", "train_rm.sh", 5)]
    assert len(together) == len(set(together))


def test_axolotl_broken_sample():
    assert findings(AXOLOTL_BROKEN) == [
        ("RM245", "dpo-qlora.yaml", 9), ("RM414", "dpo-qlora.yaml", 16), ("RM629", "dpo-qlora.yaml", 24),
        ("RM627", "qlora-reward-model.yaml", 4), ("RM244", "qlora-reward-model.yaml", 13),
        ("RM625", "qlora-reward-model.yaml", 18), ("RM307", "qlora-reward-model.yaml", 27),
        ("RM628", "qlora-reward-model.yaml", 33)]


def test_a_real_typo_in_an_axolotl_example():
    """axolotl's own examples/falcon-h1/falcon-h1-1b-qlora-cp.yaml (axolotl @ 067b021c) misspells
    context_parallel_size; axolotl drops the key and trains without context parallelism."""
    result = cli("check", str(ROOT / "tests" / "fixtures" / "upstream" / "axolotl" / "falcon-h1-1b-qlora-cp.yaml"))
    assert result.exit_code == 1
    assert ":42:1: error RM240 axolotl silently drops unknown key `context_parapllel_size`; did you mean " \
           "`context_parallel_size`?" in result.output


def test_flag_forms_of_hfargumentparser(tmp_path):
    """`--key value`, `--key=value`, lists, bare booleans and JSON values, as HfArgumentParser reads them."""
    base = "python examples/scripts/reward_modeling.py --model_name_or_path m --use_peft"
    assert script_findings(tmp_path, base + " --lora_r=8\n") == [("RM624", 2)]
    assert script_findings(tmp_path, base + " --lora_task_type=SEQ_CLS\n") == []
    assert script_findings(tmp_path, base + " --lora_modules_to_save embed_tokens score\n") == []
    assert script_findings(tmp_path, base + " --lora_task_type SEQ_CLS --lora_modules_to_save lm_head scores\n") == [
        ("RM625", 2)]
    assert script_findings(tmp_path, base + " --lora_task_type SEQ_CLS --use_peft true --per_device_train_bach_size 4\n") \
        == [("RM240", 2)]


def test_zero_stage_from_every_place_a_launch_names_it(tmp_path):
    qlora = " examples/scripts/reward_modeling.py --model_name_or_path m --use_peft --lora_task_type SEQ_CLS --load_in_4bit\n"
    accelerate = (SAMPLES / "trl-upstream" / "examples" / "accelerate_configs" / "deepspeed_zero3.yaml").read_text()
    assert script_findings(tmp_path, "accelerate launch --config_file z3.yaml" + qlora, {"z3.yaml": accelerate}) == [
        ("RM247", 2)]
    assert script_findings(tmp_path, "accelerate launch --use_deepspeed --zero_stage 3 --num_processes 8" + qlora) == [
        ("RM247", 2)]
    assert script_findings(tmp_path, "accelerate launch --config_file z3.yaml" + qlora.rstrip() +
                           " --deepspeed ds_z2.json\n",   # TrainingArguments.deepspeed wins over the plugin
                           {"ds_z2.json": '{"zero_optimization": {"stage": 2}, "train_batch_size": "auto"}'}) == []
    trl_cli = "trl reward --accelerate_config zero3 --model_name_or_path m --use_peft --load_in_4bit " \
              "--lora_task_type SEQ_CLS --bnb_4bit_quant_storage bfloat16 --dtype bfloat16\n"
    assert script_findings(tmp_path, trl_cli) == [("RM245", 2)]


def test_a_zero3_config_trl_ships_is_named_as_trls(tmp_path):
    """`--accelerate_config zero3` names trl/accelerate_configs/zero3.yaml (a file in TRL's wheel, ZeRO stage 3),
    not a file of the user's: the message says whose it is."""
    script = tmp_path / "train.sh"
    script.write_text("trl reward --accelerate_config zero3 --model_name_or_path m --use_peft --load_in_4bit "
                      "--lora_task_type SEQ_CLS --output_dir o\n")
    result = lint_paths([script], select=["RM247"])
    assert [(f.rule, f.line, f.column, f.message) for f in result.findings] == [
        ("RM247", 1, 72, "4-bit QLoRA under ZeRO-3 (trl's zero3) with `bnb_4bit_quant_storage` unset (uint8): ZeRO-3 "
                         "can only shard 4-bit weights stored in the model's dtype")]


def test_the_trainer_is_told_by_the_script_or_the_recipe_keys(tmp_path):
    from rmlint.frameworks.trl import stage_of_keys, stage_of_script
    assert stage_of_script("examples/scripts/ppo/ppo_tldr.py") == "ppo"
    assert stage_of_script("reward_modeling.py") == "rm"
    assert stage_of_script("online_dpo.py") == "online_dpo"
    assert stage_of_keys({"model_name_or_path": "m", "center_rewards_coefficient": 0.01}) == "rm"
    assert stage_of_keys({"model_name_or_path": "m", "num_ppo_epochs": 4, "push_to_hub": True}) == "ppo"
    assert stage_of_keys({"model_name_or_path": "m", "push_to_hub": True, "learning_rate": 1e-5}) == ""
    # an unknown script gets no framework's findings: it is listed as not understood
    assert script_findings(tmp_path, "python train.py --model_name_or_path m --use_peft --output_dir o\n") == [
        ("RM006", 2)]


def test_words_rmlint_cannot_read_keep_their_facts_unknown(tmp_path):
    """`$EXTRA_ARGS` may hold --lora_task_type SEQ_CLS: no head finding is guessed from the defaults."""
    launch = "python examples/scripts/reward_modeling.py --model_name_or_path m --use_peft --lora_r 16"
    assert script_findings(tmp_path, launch + "\n") == [("RM624", 2)]
    assert script_findings(tmp_path, launch + " $EXTRA_ARGS\n") == [("RM006", 2)]     # not read, no guess
    assert script_findings(tmp_path, "python examples/scripts/ppo/ppo.py --model_name_or_path m --reward_model_path rm "
                                     "--per_device_train_batch_size $BS --num_mini_batches 3\n") == []
    assert script_findings(tmp_path, "python examples/scripts/ppo/ppo.py --model_name_or_path m --reward_model_path rm "
                                     "--per_device_train_batch_size 4 --num_mini_batches 3\n") == [("RM305", 2)]


@pytest.mark.parametrize("launch", ["accelerate launch --config_file x.py --model_name_or_path",
                                    "trl reward --config=", "trl reward --config", "python x.py --model_name_or_path m --deepspeed",
                                    "accelerate launch --num_processes x --use_deepspeed --zero_stage x a.py --model_name_or_path m",
                                    "python x.py --model_name_or_path m --gradient_checkpointing_kwargs '{bad'"])
def test_launches_missing_values_are_no_traceback(tmp_path, launch):
    result = cli("check", str((tmp_path / "run.sh").write_text(launch + "\n") and tmp_path / "run.sh"))
    assert result.exit_code == 0 and result.exception is None, result.output


def test_a_missing_recipe_is_said(tmp_path):
    assert script_findings(tmp_path, "trl reward --config nowhere.yaml\n") == [("RM233", 2)]


def test_ppo_mini_batch_fix_is_the_smallest_that_divides(tmp_path):
    from rmlint.frameworks.trainer.defaults import defaults
    from rmlint.frameworks.trl import _mini_batch
    for micro, accum, minis, fix in ((16, 1, 3, "gradient_accumulation_steps: 3"), (6, 1, 4, "gradient_accumulation_steps: 2"),
                                     (4, 3, 8, "gradient_accumulation_steps: 4"), (8, 2, 4, "")):
        trainer = defaults()
        _mini_batch(trainer, {"per_device_train_batch_size": micro, "gradient_accumulation_steps": accum,
                              "num_mini_batches": minis}.get)
        assert trainer["batch"]["fix"] == fix
        if fix:
            assert micro * int(fix.split(": ")[1]) % minis == 0


def test_recognition_by_content(tmp_path):
    for name, text, kind in (("a.yaml", "base_model: m\nreward_model: true\nmicro_batch_size: 1\n", "axolotl"),
                             ("b.yaml", "model_name_or_path: m\nuse_peft: true\noutput_dir: o\n", "trl"),
                             ("c.yaml", "model_name_or_path: m\nstage: rm\nfinetuning_type: lora\n", "llamafactory")):
        from rmlint.inputs import subjects_of_text
        subjects, _ = subjects_of_text(name, text)
        assert [s.facts["input"]["kind"] for s in subjects] == [kind]
    config = tmp_path / "settings.txt"
    config.write_text("model_name_or_path: m\nuse_peft: true\nlora_r: 8\n")
    assert findings(config) == []                  # by content a TRL recipe, whose trainer is unknown
    assert cli("check", "--kind", "axolotl", str(config)).output.startswith(
        f"{config}:1:1: info RM002 --kind axolotl: the file does not look like one")


# --- the behaviour of the real libraries the rules rely on ----------------------------------------

def _tiny_seqcls():
    from transformers import LlamaConfig, LlamaForSequenceClassification
    config = LlamaConfig(hidden_size=16, intermediate_size=32, num_hidden_layers=1, num_attention_heads=2,
                         num_key_value_heads=2, vocab_size=64, num_labels=1, pad_token_id=0)
    return LlamaForSequenceClassification(config)


def _saved_head_keys(task_type, targets, modules_to_save):
    import peft
    model = peft.get_peft_model(_tiny_seqcls(), peft.LoraConfig(r=4, target_modules=targets, task_type=task_type,
                                                                modules_to_save=modules_to_save))
    return sorted(k for k in peft.get_peft_model_state_dict(model) if "score" in k)


def test_peft_saves_the_head_only_under_seq_cls_or_by_its_real_name():
    """RM624/RM625: SEQ_CLS adds `score`; a head-like name matching nothing is dropped silently."""
    assert _saved_head_keys("SEQ_CLS", ["q_proj", "v_proj"], None) == ["base_model.model.score.weight"]
    assert _saved_head_keys(None, ["q_proj", "v_proj"], ["score"]) == ["base_model.model.score.weight"]
    assert _saved_head_keys(None, ["q_proj", "v_proj"], ["scores"]) == []
    assert _saved_head_keys("SEQ_CLS", ["q_proj", "v_proj"], ["scores"]) == ["base_model.model.score.weight"]


def test_peft_causal_lm_task_on_a_reward_model_fails_with_transformers_5():
    """RM624: TRL's default lora_task_type CAUSAL_LM on AutoModelForSequenceClassification."""
    import peft
    with pytest.raises(AttributeError, match="prepare_inputs_for_generation"):
        peft.get_peft_model(_tiny_seqcls(), peft.LoraConfig(r=4, target_modules=["q_proj"], task_type="CAUSAL_LM"))


def test_peft_lora_on_the_head_saves_no_head_weight():
    """RM630: the head as a LoRA target keeps only lora_A/B; its random base weight is not saved."""
    assert _saved_head_keys(None, ["q_proj", "score"], None) == ["base_model.model.score.lora_A.weight",
                                                                 "base_model.model.score.lora_B.weight"]
    assert _saved_head_keys("SEQ_CLS", ["q_proj", "score"], None) == ["base_model.model.score.weight"]


def test_bitsandbytes_stores_4bit_weights_as_uint8_unless_told():
    """RM247: what TRL's get_quantization_config passes when the recipe leaves bnb_4bit_quant_storage unset."""
    import torch
    from transformers import BitsAndBytesConfig
    assert BitsAndBytesConfig(load_in_4bit=True, bnb_4bit_quant_storage=None).bnb_4bit_quant_storage == torch.uint8
    assert BitsAndBytesConfig(load_in_4bit=True, bnb_4bit_quant_storage="bfloat16").bnb_4bit_quant_storage == torch.bfloat16


def test_hfargumentparser_reads_flags_as_rmlint_does():
    """List, bare boolean, `=` and JSON-dict flags, with the parser TRL scripts use."""
    from dataclasses import dataclass, field
    from transformers import HfArgumentParser, TrainingArguments

    @dataclass
    class Model:
        model_name_or_path: str = None
        use_peft: bool = False
        lora_modules_to_save: list[str] | None = field(default=None)
        lora_task_type: str = "CAUSAL_LM"

    argv = ["--model_name_or_path", "m", "--use_peft", "--lora_modules_to_save", "embed_tokens", "score",
            "--lora_task_type=SEQ_CLS", "--output_dir", "o", "--gradient_checkpointing_kwargs", '{"use_reentrant": false}']
    model, training = HfArgumentParser((Model, TrainingArguments)).parse_args_into_dataclasses(argv)
    assert (model.use_peft, model.lora_modules_to_save, model.lora_task_type) == (True, ["embed_tokens", "score"], "SEQ_CLS")
    assert training.gradient_checkpointing_kwargs == {"use_reentrant": False}
    from rmlint.frameworks.trl import flag_values
    from rmlint.sources import shell
    words = shell.parse("python x.py " + " ".join(f"'{a}'" if "{" in a else a for a in argv) + "\n").commands[0].words
    values, _, opaque = flag_values(words[2:], lambda offset: offset)
    assert not opaque
    assert values["use_peft"] is True and values["lora_modules_to_save"] == ["embed_tokens", "score"]
    assert values["lora_task_type"] == "SEQ_CLS" and values["gradient_checkpointing_kwargs"] == {"use_reentrant": False}


def test_copied_sample_runs_from_anywhere(tmp_path, monkeypatch):
    """The launch finds its recipe and accelerate config beside the script, wherever rmlint runs."""
    shutil.copytree(TRL_BROKEN, tmp_path / "job")
    monkeypatch.chdir("/")
    assert [r for r, _, _ in findings(tmp_path / "job" / "train_rm.sh")] == ["RM240", "RM247", "RM624", "RM625", "RM628"]
