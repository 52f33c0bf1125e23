"""No rule wording in the library's Python (issue 15): readers record data (numbers, names, lists, enums)
and the rule's YAML template words it. The messages below are the words users saw before the wording moved
(each branch the rule examples do not pin); the scan keeps English phrases out of the readers."""

import json

import pytest

from conftest import cli


def messages(tmp_path, name: str, text: str, rule: str) -> list:
    path = tmp_path / name
    path.write_bytes(text.encode())
    result = cli("check", str(path), "--select", rule, "--format", "json")
    return [(f["line"], f["column"], f["message"]) for f in json.loads(result.output)["findings"]]


CRLF = ": bash on Linux reads the `\\r` into the last word of each line (`--bf16\\r`, `\\\\\\r` is no continuation)"


@pytest.mark.parametrize("text, count", [
    ("deepspeed --module openrlhf.cli.train_rm --pretrain m --bf16\r\n", "1 line"),
    ("deepspeed --module openrlhf.cli.train_rm \\\r\n  --pretrain m \\\r\n  --bf16\r\n", "3 lines"),
])
def test_crlf_counts_lines_in_the_rule_words(tmp_path, text, count):
    assert messages(tmp_path, "train.sh", text, "RM007") == [
        (1, 1, f"Windows (CRLF) line endings on {count}{CRLF}")]


@pytest.mark.parametrize("text, message", [
    ("compute_environment: LOCAL_MACHINE\ndistributed_type: DEEPSPEED\nzzz_unrelated: 1\n",
     "accelerate refuses unknown key `zzz_unrelated` (\"had unknown keys\")"),
    ("compute_environment: LOCAL_MACHINE\ndistributed_type: DEEPSPEED\nmixed_precison: bf16\n",
     "accelerate refuses unknown key `mixed_precison` (\"had unknown keys\"); did you mean `mixed_precision`?"),
])
def test_accelerate_unknown_key_suggests_only_a_close_name(tmp_path, text, message):
    assert [m for _, _, m in messages(tmp_path, "accelerate.yaml", text, "RM230")] == [message]


def test_accelerate_ignored_deepspeed_key_suggests_a_close_name(tmp_path):
    text = ("compute_environment: LOCAL_MACHINE\ndistributed_type: DEEPSPEED\ndeepspeed_config:\n"
            "  zero_stag: 2\n")
    assert messages(tmp_path, "accelerate.yaml", text, "RM231") == [
        (4, 3, "accelerate (1.15) ignores `deepspeed_config.zero_stag` without a word; did you mean `zero_stage`?")]


def test_accelerate_file_and_one_plugin_key(tmp_path):
    text = ("compute_environment: LOCAL_MACHINE\ndistributed_type: DEEPSPEED\ndeepspeed_config:\n"
            "  deepspeed_config_file: /nonexistent/ds.json\n  gradient_clipping: 1.0\n")
    assert [m for _, _, m in messages(tmp_path, "accelerate.yaml", text, "RM232")] == [
        "with `deepspeed_config_file` accelerate refuses `gradient_clipping` (ValueError: \"the following "
        "accelerate config variables will be ignored\")"]
