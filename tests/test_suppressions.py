"""Inline `# rmlint: ignore[...] reason` in shell and YAML files."""

import json

import pytest

from conftest import cli

LAUNCH = ("deepspeed --module openrlhf.cli.train_rm --pretrain m --bf16 \\\n"
          "   --zero_stage 3 --load_in_4bit \\\n"
          "   --lora_rank 8 --target_modules q_proj\n")


def findings(tmp_path, text, name="train.sh"):
    path = tmp_path / name
    path.write_text(text)
    result = cli("check", "--format", "json", str(path))
    return [(f["rule"], f["line"], f["message"]) for f in json.loads(result.output)["findings"]]


def rules(tmp_path, text, name="train.sh"):
    return [(rule, line) for rule, line, _ in findings(tmp_path, text, name)]


def test_unsuppressed_baseline(tmp_path):
    assert rules(tmp_path, LAUNCH) == [("RM201", 2), ("RM602", 3)]


def test_comment_above_a_command_covers_its_continued_lines(tmp_path):
    text = "# rmlint: ignore[RM201, lora-freezes-value-head] ZeRO-3 QLoRA smoke test, head trained separately\n" + LAUNCH
    assert rules(tmp_path, text) == []


def test_trailing_comment_covers_its_own_line_only(tmp_path):
    text = LAUNCH.replace("--lora_rank 8 --target_modules q_proj", "--lora_rank 8 --target_modules q_proj  # rmlint: ignore[RM602] head frozen on purpose")
    assert rules(tmp_path, text) == [("RM201", 2)]


def test_a_reason_is_required(tmp_path):
    found = findings(tmp_path, "# rmlint: ignore[RM201]\n" + LAUNCH)
    assert found[0] == ("RM004", 1, "suppression of RM201 gives no reason; write why after the brackets")
    assert [(r, line) for r, line, _ in found[1:]] == [("RM201", 3), ("RM602", 4)]


def test_unused_and_unknown_suppressions_are_reported(tmp_path):
    text = "# rmlint: ignore[RM301, RM9999] batch sizes checked by hand\n" + LAUNCH
    assert findings(tmp_path, text)[:2] == [
        ("RM005", 1, "`RM9999` in this suppression is not a rule"),
        ("RM005", 1, "suppression of RM301 suppresses nothing here")]


def test_suppression_of_a_deselected_rule_is_not_reported_unused(tmp_path):
    path = tmp_path / "train.sh"
    path.write_text("# rmlint: ignore[RM201] known\n" + LAUNCH)
    result = cli("check", "--format", "json", "--ignore", "RM201", str(path))
    assert [f["rule"] for f in json.loads(result.output)["findings"]] == ["RM602"]


def test_yaml_arguments_file(tmp_path):
    text = ("entrypoint: openrlhf.cli.train_rm\npretrain: m\nbf16: true\n"
            "# rmlint: ignore[RM201] tested on bitsandbytes 0.45 with bf16 quant storage\nzero_stage: 3\n"
            "load_in_4bit: true\nlora_rank: 8\ntarget_modules: [q_proj]\n")
    assert rules(tmp_path, text, "args.yaml") == [("RM602", 8)]


def test_a_hash_inside_a_word_is_not_a_comment(tmp_path):
    text = LAUNCH.replace("--pretrain m", "--pretrain m#rmlint:ignore[RM201]x")
    assert ("RM201", 2) in rules(tmp_path, text)


@pytest.mark.parametrize("comment", [
    "# rmlint: ignore[RM201, RM602]", "# rmlint: ignore[RM201,RM602]", "# rmlint: ignore[ RM201 ,RM602 ]",
    "#rmlint:ignore[RM201,\tRM602]", "#  rmlint:  ignore[RM201,lora-freezes-value-head]",
    "# rmlint: ignore[RM201,,RM602]"])
def test_a_suppression_list_reads_the_same_with_or_without_spaces(tmp_path, comment):
    assert rules(tmp_path, f"{comment} ZeRO-3 QLoRA smoke test\n" + LAUNCH) == []


@pytest.mark.parametrize("comment", ["# rmlint: ignore[RM201,RM9999]", "# rmlint: ignore[RM201 ,  RM9999]"])
def test_each_code_of_an_unspaced_list_is_checked(tmp_path, comment):
    assert findings(tmp_path, f"{comment} smoke test\n" + LAUNCH) == [
        ("RM005", 1, "`RM9999` in this suppression is not a rule"), ("RM602", 4, findings(tmp_path, LAUNCH)[1][2])]
