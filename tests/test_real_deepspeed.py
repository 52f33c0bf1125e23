"""What rmlint says DeepSpeed does, shown with DeepSpeed itself (CPU only, no process group):
its config models and DeepSpeedConfig parse every example the DS rules carry."""

import copy
import json
import os
import subprocess
import sys
from pathlib import Path
from unittest import mock

import pytest

os.environ.setdefault("DS_ACCELERATOR", "cpu")
import deepspeed  # noqa: E402  (installed by the test command; never skipped)
from deepspeed.runtime.config import DeepSpeedConfig, DeepSpeedConfigError  # noqa: E402
from pydantic import ValidationError  # noqa: E402

import rmlint  # noqa: E402
from rmlint.rules import builtin  # noqa: E402

ROOT = Path(__file__).resolve().parent.parent


def ds_parse(config: dict, world_size: int = 8):
    """Parse exactly as deepspeed.initialize would with `world_size` data-parallel ranks."""
    with mock.patch("deepspeed.comm.get_rank", return_value=0), \
            mock.patch("deepspeed.comm.get_world_size", return_value=world_size):
        return DeepSpeedConfig(copy.deepcopy(config))


def example(rule_id: str, kind: str, number: int = 0) -> dict:
    rule = next(r for r in builtin() if r.id == rule_id)
    return getattr(rule.examples, kind)[number]["deepspeed"]


BATCH = {"train_micro_batch_size_per_gpu": 1, "gradient_accumulation_steps": 1}


def with_batch(config: dict) -> dict:
    return {**BATCH, **config} if not {"train_batch_size", "train_micro_batch_size_per_gpu"} & set(config) else config


@pytest.mark.parametrize("rule_id,error,text", [
    ("RM101", AssertionError, "bfloat16 and fp16 modes cannot be simultaneously enabled"),
    ("RM206", ValidationError, "Partial offloading only supported for ZeRO Stage 3"),
    ("RM207", ValidationError, "Extra inputs are not permitted"),
    ("RM210", DeepSpeedConfigError, "MiCS ZeRO-3 sharding has been removed"),
    ("RM211", AssertionError, "Cannot provide deprecated parameter"),
    ("RM216", ValueError, "gradient_allreduce_op='sum' is not supported with ZeRO stage 3"),
    ("RM303", AssertionError, "Check batch related parameters"),
])
def test_deepspeed_rejects_what_the_error_rules_flag(rule_id, error, text):
    with pytest.raises(error, match=text.replace("(", r"\(").replace(")", r"\)")):
        ds_parse(with_batch(example(rule_id, "bad")))
    ds_parse(with_batch(example(rule_id, "good")))


def test_deepspeed_ignores_a_misspelled_top_level_key_silently():
    config = ds_parse({"train_micro_batch_size_per_gp": 4, "gradient_accumulation_steps": 1,
                       "train_batch_size": 8}, world_size=8)
    assert config.train_micro_batch_size_per_gpu == 1  # derived: the 4 was never read
    assert [f.rule for f in rmlint.lint_config(example("RM208", "bad")).findings] == ["RM208"]


def test_deepspeed_accepts_but_ignores_offload_param_below_stage3():
    parsed = ds_parse(with_batch(example("RM203", "bad")))
    assert parsed.zero_config.stage == 2 and parsed.zero_config.offload_param.device == "cpu"


def test_auto_outside_hf_trainer():
    with pytest.raises(TypeError):
        ds_parse({"train_micro_batch_size_per_gpu": "auto", "zero_optimization": {"stage": 2}})
    parsed = ds_parse({**BATCH, "bf16": {"enabled": "auto"}, "zero_optimization": {"stage": "auto"}})
    assert parsed.bfloat16_config.enabled is False and parsed.zero_config.stage == 0


def test_string_stage_is_coerced_by_deepspeed():
    assert ds_parse(with_batch(example("RM212", "bad"))).zero_config.stage == 3


def test_deprecated_key_still_maps_to_the_new_field():
    parsed = ds_parse(with_batch(example("RM209", "bad")))
    assert parsed.zero_config.gather_16bit_weights_on_model_save is True


@pytest.mark.parametrize("path", sorted((ROOT / "sample_configs").glob("deepspeed-*/*.json")), ids=lambda p: p.name)
def test_sample_configs_that_rmlint_passes_parse_in_deepspeed_after_hf_fills_auto(path):
    config = json.loads(path.read_text())
    result = rmlint.lint_paths([str(path)])
    if result.errors:
        return
    filled = json.loads(json.dumps(config).replace('"auto"', "1"))
    for block in ("fp16", "bf16"):
        if isinstance(filled.get(block), dict) and filled[block].get("enabled") == 1:
            filled[block]["enabled"] = block == "bf16"
    filled.pop("train_batch_size", None)
    ds_parse(filled)


def test_openrlhf_launch_configs_parse_in_deepspeed():
    """The configs rmlint derives for an OpenRLHF launch are accepted by DeepSpeed for each group's GPUs,
    and the one the batch rule flags fails DeepSpeed's own batch assertion."""
    from rmlint import inputs
    good = "python3 -m openrlhf.cli.train_ppo_ray --pretrain a --reward_pretrain r --param_dtype bf16 " \
           "--train_batch_size 64 --micro_train_batch_size 4 --actor_num_gpus_per_node 4 --critic_num_gpus_per_node 4 " \
           "--ref_num_gpus_per_node 4 --vllm_num_engines 1 --reward_num_gpus_per_node "
    for gpus, fails in (("4", False), ("3", True)):
        subjects, _ = inputs.subjects_of_text("x.sh", good + gpus + "\n")
        reward = next(s for s in subjects if s.facts["role"]["kind"] == "reward")
        config = _raw_config(reward)
        if fails:
            with pytest.raises(AssertionError, match="Check batch related parameters"):
                ds_parse(config, world_size=int(gpus))
        else:
            ds_parse(config, world_size=int(gpus))


def _raw_config(subject) -> dict:
    ds = subject.facts["ds"]
    zero = ds["zero_optimization"]
    return {"train_batch_size": ds["train_batch_size"], "train_micro_batch_size_per_gpu": ds["train_micro_batch_size_per_gpu"],
            "zero_optimization": {"stage": zero["stage"], "offload_param": {"device": zero["offload_param"]["device"]}},
            "bf16": {"enabled": ds["bf16"]["enabled"]}, "fp16": {"enabled": ds["fp16"]["enabled"]}}


def test_schema_snapshot_is_current():
    """tools/snapshot_deepspeed_schema.py run against the installed DeepSpeed reproduces the committed file."""
    fresh = subprocess.run([sys.executable, str(ROOT / "tools" / "snapshot_deepspeed_schema.py")], capture_output=True,
                           text=True, check=True, env={**os.environ, "DS_ACCELERATOR": "cpu"}).stdout
    committed = (ROOT / "rmlint" / "data" / "deepspeed_schema.json").read_text()
    assert json.loads(fresh)["deepspeed_version"] == json.loads(committed)["deepspeed_version"] == deepspeed.__version__
    assert fresh == committed


@pytest.mark.parametrize("codec", ["utf-16", "utf-32"])
def test_a_config_saved_with_a_utf16_or_utf32_byte_order_mark_fails_in_deepspeed_and_is_rm001(codec, tmp_path,
                                                                                              monkeypatch):
    from conftest import cli
    config = {"train_micro_batch_size_per_gpu": 1, "zero_optimization": {"stage": 2}}
    (tmp_path / "d").mkdir()
    (tmp_path / "d" / "ds.json").write_bytes(json.dumps(config).encode(codec))
    (tmp_path / "d" / "data.json").write_bytes(json.dumps([{"prompt": "hi"}]).encode(codec))   # no config: skipped
    with pytest.raises(UnicodeDecodeError):
        ds_parse(str(tmp_path / "d" / "ds.json"))        # DeepSpeed opens the path and json.load()s it
    monkeypatch.chdir(tmp_path)
    result = cli("check", "d")
    assert result.exit_code == 1
    assert result.output.splitlines() == [
        f"d/ds.json: error RM001 {codec.upper()} text (byte order mark); DeepSpeed and the launchers read configs as "
        "UTF-8 and fail on it: save it as UTF-8  [unreadable-input]",
        "  fix: Fix the file so that it parses as UTF-8 JSON, YAML or shell; the reported line and column say where "
        "it fails.",
        "Found 1 error, 0 warnings in 1 file checked, 1 skipped (not read by rmlint)."]


def test_a_config_in_latin_1_fails_in_deepspeed_and_is_rm001_where_the_byte_is(tmp_path, monkeypatch):
    from conftest import cli
    (tmp_path / "d").mkdir()
    (tmp_path / "d" / "ds.json").write_bytes(b'{"train_micro_batch_size_per_gpu": 1, "comment": "caf\xe9"}')
    (tmp_path / "d" / "data.json").write_bytes(b'[{"text": "caf\xe9"}]')      # names no config key: skipped
    with pytest.raises(UnicodeDecodeError):
        ds_parse(str(tmp_path / "d" / "ds.json"))
    monkeypatch.chdir(tmp_path)
    result = cli("check", "d")
    assert result.exit_code == 1
    assert result.output.splitlines()[0] == "d/ds.json:1:54: error RM001 not UTF-8: byte 0xe9 cannot be decoded  " \
                                            "[unreadable-input]"
    assert result.output.splitlines()[-1] == "Found 1 error, 0 warnings in 1 file checked, 1 skipped (not read by rmlint)."
