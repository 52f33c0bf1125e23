"""accelerate config YAMLs: accelerate's own refusals, the DeepSpeed config its plugin builds, and
the DeepSpeed file it names (read relative to the config), shown against accelerate 1.15.0 itself."""

import json
import os

import pytest

from conftest import SAMPLES, cli

BROKEN = SAMPLES / "accelerate-broken"
TRL = SAMPLES / "accelerate-trl-zero3" / "deepspeed_zero3.yaml"


def findings(*paths):
    result = cli("check", "--format", "json", *map(str, paths))
    return [(f["rule"], os.path.basename(f["path"]), f["line"]) for f in json.loads(result.output)["findings"]]


def test_upstream_trl_zero3_config_is_clean():
    assert findings(TRL) == []


def test_broken_config_and_the_file_it_names():
    assert findings(BROKEN / "accelerate_zero3.yaml") == [
        ("RM232", "accelerate_zero3.yaml", 6), ("RM230", "accelerate_zero3.yaml", 13), ("RM207", "ds_z3.json", 5)]


def test_plugin_settings_become_the_deepspeed_config(tmp_path):
    path = tmp_path / "acc.yaml"
    path.write_text(TRL.read_text().replace("zero3_save_16bit_model: true", "zero3_save_16bit_model: false")
                    .replace("deepspeed_multinode_launcher: standard", "deepspeed_multinode_launcher: standard\n"
                             "  zero_force_ds_cpu_optimizer: false"))
    assert findings(path) == [("RM231", "acc.yaml", 5), ("RM501", "acc.yaml", 11)]


def test_missing_deepspeed_file_is_said(tmp_path):
    path = tmp_path / "acc.yaml"
    path.write_text("compute_environment: LOCAL_MACHINE\ndistributed_type: DEEPSPEED\n"
                    "deepspeed_config:\n  deepspeed_config_file: configs/ds.json\n")
    assert findings(path) == [("RM233", "acc.yaml", 4)]


def test_accelerate_refuses_what_rmlint_reports():
    from accelerate.commands.config.config_args import load_config_from_file
    with pytest.raises(ValueError, match=r"had unknown keys \(\['num_procesess'\]\)"):
        load_config_from_file(str(BROKEN / "accelerate_zero3.yaml"))
    assert load_config_from_file(str(TRL)).deepspeed_config["zero_stage"] == 3


def test_accelerate_refuses_plugin_keys_beside_a_deepspeed_file(monkeypatch):
    from accelerate.utils import DeepSpeedPlugin
    monkeypatch.setenv("ACCELERATE_CONFIG_DS_FIELDS", "zero_stage,mixed_precision")   # what `accelerate launch` exports
    with pytest.raises(ValueError, match="When using `deepspeed_config_file`, the following accelerate config"):
        DeepSpeedPlugin(hf_ds_config=str(BROKEN / "ds_z3.json"))


def test_the_generated_config_matches_accelerates_plugin(monkeypatch):
    """rmlint's reading of the plugin keys equals the config accelerate's DeepSpeedPlugin builds."""
    from accelerate.utils import DeepSpeedPlugin
    monkeypatch.setenv("ACCELERATE_DEEPSPEED_ZERO_STAGE", "3")
    monkeypatch.setenv("ACCELERATE_DEEPSPEED_ZERO3_SAVE_16BIT_MODEL", "false")
    monkeypatch.setenv("ACCELERATE_GRADIENT_ACCUMULATION_STEPS", "1")
    theirs = DeepSpeedPlugin().deepspeed_config
    from rmlint.frameworks.accelerate import _generated
    from rmlint.sources.document import load_yaml
    document = load_yaml("compute_environment: LOCAL_MACHINE\ndistributed_type: DEEPSPEED\ndeepspeed_config:\n"
                         "  zero_stage: 3\n  zero3_save_16bit_model: false\n  gradient_accumulation_steps: 1\n", "a.yaml")
    ours = _generated(document, document.data["deepspeed_config"]).deepspeed
    for key in ("train_batch_size", "train_micro_batch_size_per_gpu", "gradient_clipping"):
        assert ours[key] == theirs[key]
    assert ours["gradient_accumulation_steps"] == int(theirs["gradient_accumulation_steps"])
    assert {k: v for k, v in ours["zero_optimization"].items() if k != "offload_optimizer" and k != "offload_param"} == \
        {k: v for k, v in theirs["zero_optimization"].items() if k not in ("offload_optimizer", "offload_param")}
    assert ours["zero_optimization"]["offload_param"]["device"] == theirs["zero_optimization"]["offload_param"]["device"]
