"""What `--fix` says it did, edit by edit (`  <file>: <rule> <title>` under "Fixed ..."), and the same titles in a
fix that could not be written (RM030): each rule's `fix_title` words its edit from the edit's facts."""

import pytest

from conftest import cli


def fixed_lines(path, *flags) -> list:
    output = cli("check", "--fix", *flags, str(path)).output
    listed = output.split("Fixed ", 1)[1].splitlines()[1:] if "Fixed " in output else []
    return [line for line in listed if line.startswith(f"  {path}: ")]   # the rerun's findings follow


def test_renames_and_the_added_gather_key_are_listed(tmp_path):
    path = tmp_path / "ds.json"
    path.write_text('{"train_batch_size": 8, "gradient_acumulation_steps": 1,\n'
                    ' "zero_optimization": {"stage": 3, "overlap_com": true, "stage3_gather_fp16_weights_on_model_save": '
                    'true}}\n')
    assert fixed_lines(path) == [
        f"  {path}: RM208 `gradient_acumulation_steps` -> `gradient_accumulation_steps`",
        f"  {path}: RM207 `zero_optimization.overlap_com` -> `overlap_comm`",
        f"  {path}: RM209 `zero_optimization.stage3_gather_fp16_weights_on_model_save` -> "
        "`stage3_gather_16bit_weights_on_model_save`"]
    other = tmp_path / "z3.yaml"
    other.write_text("zero_optimization:\n  stage: 3\n")
    assert fixed_lines(other) == [f"  {other}: RM501 add `zero_optimization.stage3_gather_16bit_weights_on_model_save: true`"]


@pytest.mark.parametrize("flag,shown", [("--zero_stage 3", "--zero_stage"), ("--zero_stage=3", "--zero_stage")])
def test_the_qlora_stage_edit_is_listed_with_its_flag(tmp_path, flag, shown):
    path = tmp_path / "train_rm.sh"
    path.write_text(f"deepspeed --module openrlhf.cli.train_rm --pretrain m --bf16 \\\n   {flag} \\\n"
                    "   --load_in_4bit --lora_rank 64 --target_modules q_proj\n")
    assert fixed_lines(path, "--unsafe-fixes") == [f"  {path}: RM201 {shown} 3 -> 2 (QLoRA needs ZeRO-2)"]


def test_a_fix_title_may_choose_its_words_by_the_edits_facts(tmp_path):
    """The schema's other checks of `fix_title` are in test_rules_whole_in_yaml (the fix declaration)."""
    from rmlint.rules import catalog_dir, validate_file
    source = next(catalog_dir().glob("RM101-*.yaml"))
    rule = tmp_path / source.name
    rule.write_text(source.read_text() + "fix_safety: safe\nfix_edit: add-gather-on-save\n"
                    "fix_title: '{if edit.key}add {edit.key}{else}nothing{end}'\n")
    assert validate_file(rule).fix_title == "{if edit.key}add {edit.key}{else}nothing{end}"
