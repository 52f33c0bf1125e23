"""LLaMA-Factory training YAMLs: recognised by content, their DeepSpeed file found the way
LLaMA-Factory opens it, and the checks LLaMA-Factory itself makes before training."""

import json
import os

from conftest import SAMPLES, cli

BROKEN = SAMPLES / "llamafactory-broken-ppo" / "qwen_ppo.yaml"
UPSTREAM = SAMPLES / "llamafactory-qwen3-lora-reward" / "qwen3_lora_reward.yaml"


def findings(path):
    result = cli("check", "--format", "json", str(path))
    return [(f["rule"], os.path.basename(f["path"]), f["line"]) for f in json.loads(result.output)["findings"]]


def test_upstream_reward_example_is_clean():
    assert findings(UPSTREAM) == []


def test_broken_ppo_config():
    assert findings(BROKEN) == [("RM241", "qwen_ppo.yaml", 3), ("RM244", "qwen_ppo.yaml", 3),
                                ("RM242", "qwen_ppo.yaml", 5), ("RM243", "qwen_ppo.yaml", 8),
                                ("RM240", "qwen_ppo.yaml", 17)]


def test_deepspeed_path_is_found_from_the_repository_root(tmp_path, monkeypatch):
    """LLaMA-Factory examples name `examples/deepspeed/ds_z3_config.json`, relative to the checkout."""
    (tmp_path / "examples" / "deepspeed").mkdir(parents=True)
    (tmp_path / "examples" / "train_qlora").mkdir()
    (tmp_path / "examples" / "deepspeed" / "ds_z3_config.json").write_text(
        (SAMPLES / "deepspeed-llamafactory" / "ds_z3_config.json").read_text())
    config = tmp_path / "examples" / "train_qlora" / "rm.yaml"
    config.write_text("model_name_or_path: m\nstage: rm\nfinetuning_type: lora\nquantization_bit: 4\n"
                      "deepspeed: examples/deepspeed/ds_z3_config.json\n")
    monkeypatch.chdir("/")
    assert findings(config) == [("RM245", "rm.yaml", 4)]


def test_a_missing_deepspeed_file_is_said_and_not_guessed(tmp_path):
    config = tmp_path / "rm.yaml"
    config.write_text("model_name_or_path: m\nstage: rm\nfinetuning_type: lora\nquantization_bit: 8\n"
                      "deepspeed: nowhere/ds_z3.json\n")
    result = cli("check", str(config))
    assert result.exit_code == 0     # RM244 needs the stage, which is unknown: not guessed
    assert result.output.startswith(f"{config}:5:1: warning RM233 `deepspeed` file nowhere/ds_z3.json is not found "
                                    "from here, beside the config or above it; its DeepSpeed settings were not checked")


def test_unknown_keys_are_what_hfargumentparser_refuses():
    """The mechanism LLaMA-Factory relies on (parse_dict with allow_extra_keys=False), with transformers itself."""
    import pytest
    from transformers import HfArgumentParser, Seq2SeqTrainingArguments
    parser = HfArgumentParser(Seq2SeqTrainingArguments)
    with pytest.raises(ValueError, match="Some keys are not used by the HfArgumentParser"):
        parser.parse_dict({"output_dir": "x", "gradient_acumulation_steps": 8})
    parser.parse_dict({"output_dir": "x", "gradient_accumulation_steps": 8})


def test_the_key_snapshot_covers_the_reward_example():
    import yaml
    from rmlint.frameworks.trainer.common import known_keys
    # transformers 5 dropped these TrainingArguments; LLaMA-Factory pins transformers <= 5.8, which has them
    assert set(yaml.safe_load(UPSTREAM.read_text())) - known_keys("llamafactory") <= {"warmup_ratio", "overwrite_output_dir"}


def test_configs_a_script_launches_are_checked(tmp_path, monkeypatch):
    """`llamafactory-cli train x.yaml` and `accelerate launch --config_file y.yaml` in a script: both files are read."""
    import shutil
    for source in (BROKEN, BROKEN.parent / "ds_z3_config.json", SAMPLES / "accelerate-broken" / "ds_z3.json"):
        shutil.copy(source, tmp_path / source.name)
    shutil.copy(SAMPLES / "accelerate-broken" / "accelerate_zero3.yaml", tmp_path / "acc.yaml")
    script = tmp_path / "run.sh"
    script.write_text("#!/bin/bash\nFORCE_TORCHRUN=1 llamafactory-cli train qwen_ppo.yaml\n"
                      "accelerate launch --config_file=acc.yaml train_rm.py --bf16\n")
    monkeypatch.chdir("/")
    found = findings(script)
    assert ("RM242", "qwen_ppo.yaml", 5) in found and ("RM230", "acc.yaml", 13) in found
    assert ("RM207", "ds_z3.json", 5) in found


def test_a_config_that_llamafactory_cli_exports_is_checked(tmp_path, monkeypatch):
    """`llamafactory-cli export x.yaml` trains nothing, but the config it names is read as any LLaMA-Factory
    config (launches.py hands it to the file reader passed down from inputs.py)."""
    import shutil
    for source in (BROKEN, BROKEN.parent / "ds_z3_config.json"):
        shutil.copy(source, tmp_path / source.name)
    script = tmp_path / "merge.sh"
    script.write_text("#!/bin/bash\nllamafactory-cli export qwen_ppo.yaml\nllamafactory-cli export missing.yaml\n")
    monkeypatch.chdir("/")
    found = findings(script)
    assert ("RM242", "qwen_ppo.yaml", 5) in found and ("RM011", "merge.sh", 3) in found
