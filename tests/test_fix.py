"""`rmlint check --fix / --unsafe-fixes / --diff` on real files: exact resulting text (formatting,
comments and key order kept), nothing left to fix on a rerun, and the fixed DeepSpeed configs
accepted by DeepSpeed 0.19.8's own DeepSpeedConfig."""

import json
import os
import textwrap

import pytest

from conftest import ROOT, cli
from rmlint.frameworks.deepspeed.exact import validate

os.environ.setdefault("DS_ACCELERATOR", "cpu")


def fix(path, *flags):
    return cli("check", "--fix", *flags, str(path))


def rules_left(path):
    return [f["rule"] for f in json.loads(cli("check", "--format", "json", str(path)).output)["findings"]]


def nothing_fixable(path):
    result = cli("check", "--diff", "--unsafe-fixes", str(path))
    return result.exit_code == 0 and result.output == ""


JSON_BEFORE = """\
{
  "train_micro_batch_size_per_gpu": 4,
  "gradient_acumulation_steps": 8,
  "bf16": {"enabled": true},
  "zero_optimization": {
    "stage": 3,
    "overlap_com": true,
    "stage3_gather_fp16_weights_on_model_save": true,
    "offload_param": {"device": "cpu"}
  }
}
"""
JSON_AFTER = JSON_BEFORE.replace("gradient_acumulation_steps", "gradient_accumulation_steps").replace(
    "overlap_com", "overlap_comm").replace("stage3_gather_fp16_weights", "stage3_gather_16bit_weights")


def test_json_renames_keep_everything_else(tmp_path):
    path = tmp_path / "ds_config.json"
    path.write_text(JSON_BEFORE)
    assert validate(json.loads(JSON_BEFORE))   # DeepSpeed refuses it as written (overlap_com)
    result = fix(path)
    assert result.exit_code == 0, result.output
    assert path.read_text() == JSON_AFTER
    assert rules_left(path) == [] and nothing_fixable(path)
    assert validate(json.loads(path.read_text())) == []


def test_gather_is_added_beside_its_siblings(tmp_path):
    path = tmp_path / "ds_z3.json"
    path.write_text('{\n    "bf16": {"enabled": "auto"},\n    "zero_optimization": {\n        "stage": 3,\n'
                    '        "overlap_comm": true\n    },\n    "train_micro_batch_size_per_gpu": "auto"\n}\n')
    assert rules_left(path) == ["RM501"]
    fix(path)
    assert path.read_text() == ('{\n    "bf16": {"enabled": "auto"},\n    "zero_optimization": {\n'
                                '        "stage3_gather_16bit_weights_on_model_save": true,\n        "stage": 3,\n'
                                '        "overlap_comm": true\n    },\n    "train_micro_batch_size_per_gpu": "auto"\n}\n')
    assert rules_left(path) == [] and nothing_fixable(path)
    assert validate(json.loads(path.read_text())) == []


def test_gather_in_an_inline_json_block(tmp_path):
    path = tmp_path / "ds.json"
    path.write_text('{"train_batch_size": 16, "zero_optimization": {"stage": 3}}\n')
    fix(path)
    assert path.read_text() == ('{"train_batch_size": 16, "zero_optimization": {"stage3_gather_16bit_weights_on_model_save": '
                                'true, "stage": 3}}\n')
    assert validate(json.loads(path.read_text())) == []


YAML_BEFORE = textwrap.dedent("""\
    # ZeRO-3 for the 70B reward model
    train_micro_batch_size_per_gpu: 2   # per GPU
    zero_optimization:
      stage: 3          # full sharding
      overlap_com: true
      stage3_gather_fp16_weights_on_model_save: false
    bf16:
      enabled: true
    """)


def test_yaml_keeps_comments_and_order(tmp_path):
    path = tmp_path / "ds_config.yaml"
    path.write_text(YAML_BEFORE)
    fix(path)
    assert path.read_text() == YAML_BEFORE.replace("overlap_com:", "overlap_comm:").replace(
        "stage3_gather_fp16_weights", "stage3_gather_16bit_weights")
    import yaml
    assert rules_left(path) == ["RM501"]   # written false on purpose: not changed by a safe fix
    assert validate(yaml.safe_load(path.read_text())) == []


def test_yaml_gather_added_when_absent(tmp_path):
    path = tmp_path / "ds.yaml"
    path.write_text("zero_optimization:\n  stage: 3\n  overlap_comm: true  # keep\n")
    fix(path)
    assert path.read_text() == ("zero_optimization:\n  stage3_gather_16bit_weights_on_model_save: true\n  stage: 3\n"
                                "  overlap_comm: true  # keep\n")


def test_doubtful_typos_and_converted_deprecations_are_left_alone(tmp_path):
    path = tmp_path / "ds.json"
    text = ('{"train_batch_size": 8, "zero_optimization": {"stage": 2, "cpu_offload": true, "reduce_bucket": 5},'
            ' "fp16": {"enabled": false}, "bfloat": {"enabled": true}}\n')
    path.write_text(text)
    result = fix(path)
    assert path.read_text() == text          # cpu_offload converts its value; the typos have no sure target
    assert result.exit_code == 1 and "Fixed" not in result.output


def test_a_rename_never_overwrites_an_existing_key(tmp_path):
    path = tmp_path / "ds.json"
    text = '{"train_batch_size": 8, "zero_optimization": {"stage": 2, "overlap_com": true, "overlap_comm": false}}\n'
    path.write_text(text)
    fix(path)
    assert path.read_text() == text


SCRIPT = ("deepspeed --module openrlhf.cli.train_rm --pretrain m --bf16 \\\n"
          "   --zero_stage 3 \\\n   --load_in_4bit --lora_rank 64 --target_modules q_proj\n")


@pytest.mark.parametrize("flag", ["--zero_stage 3", "--zero_stage=3", "--ds.zero_stage 3"])
def test_qlora_zero3_only_with_unsafe_fixes(tmp_path, flag):
    path = tmp_path / "train_rm.sh"
    text = SCRIPT.replace("--zero_stage 3", flag)
    if flag.startswith("--ds."):
        text = text.replace("--pretrain m --bf16", "--model.model_name_or_path m").replace(
            "--load_in_4bit --lora_rank 64 --target_modules q_proj", "--ds.load_in_4bit --ds.lora.rank 64 "
                                                                     "--ds.lora.target_modules q_proj")
    path.write_text(text)
    safe = fix(path)
    assert path.read_text() == text and "1 more fixable with `--fix --unsafe-fixes`." in safe.output
    fix(path, "--unsafe-fixes")
    assert path.read_text() == text.replace(flag, flag.replace("3", "2"))
    assert "RM201" not in rules_left(path) and nothing_fixable(path)


def test_diff_shows_and_writes_nothing(tmp_path):
    path = tmp_path / "ds_config.json"
    path.write_text(JSON_BEFORE)
    result = cli("check", "--diff", str(path))
    assert result.exit_code == 1 and path.read_text() == JSON_BEFORE
    assert f"--- a/{path}\n+++ b/{path}\n" in result.output
    assert '-  "gradient_acumulation_steps": 8,\n+  "gradient_accumulation_steps": 8,\n' in result.output
    assert result.output.endswith("Would fix 3 findings in 1 file.\n")


def test_check_marks_what_is_fixable():
    output = cli("check", "sample_configs/deepspeed-typos").output
    assert output.splitlines()[-1] == "[*] 3 fixable with `rmlint check --fix`."


def test_sample_with_fixes_is_accepted_by_deepspeed_after_fixing(tmp_path):
    """The upstream LLaMA-Factory ZeRO-3 config as HF Trainer consumes it: fixed, then DeepSpeed accepts it."""
    path = tmp_path / "ds_z3_config.json"
    path.write_text((ROOT / "sample_configs" / "deepspeed-llamafactory" / "ds_z3_config.json").read_text())
    cli("check", "--fix", str(path))
    assert nothing_fixable(path)
    assert validate(json.loads(path.read_text())) == []


def test_fix_refuses_stdin():
    assert cli("check", "--fix", "-", input="{}").exit_code == 2


def test_a_misspelled_key_set_twice_is_not_renamed(tmp_path):
    """`"overlap_com": true, "overlap_com": false`: renaming one copy (or both) would pick a value for
    the user; the rename is not offered, RM003 says the key is set twice."""
    text = '{\n  "train_micro_batch_size_per_gpu": 1,\n  "zero_optimization": {"stage": 2, "overlap_com": true, ' \
           '"overlap_com": false}\n}\n'
    path = tmp_path / "ds.json"
    path.write_text(text)
    result = fix(path)
    assert result.exit_code == 1
    assert path.read_text() == text
    assert "[*]" not in result.output and "fixable" not in result.output
    assert rules_left(path) == ["RM003", "RM207"]
    assert nothing_fixable(path)
