"""No rule wording in the library's Python (issue 15): readers record data (numbers, names, lists, enums)
and the rule's YAML template words it. The messages below are the words users saw before the wording moved
(each branch the rule examples do not pin); the scan keeps English phrases out of the readers."""

import json
import struct

import pytest

from conftest import cli
from hostile_cases import _config, _safetensors


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


def inspected(folder, rule: str) -> list:
    result = cli("inspect", str(folder), "--select", rule, "--format", "json")
    return [f["message"] for f in json.loads(result.output)["findings"]]


def _floats(values) -> bytes:
    return struct.pack(f"<{len(values)}f", *values)


@pytest.mark.parametrize("shape, values, words", [
    ([1, 64], [0.0] * 64, "is all zeros: never initialised or never trained (certain)"),
    # before: "is every value is 0.5: ..." and "is 1 NaN/Inf values" (the state was a sentence of its own)
    ([1, 64], [0.5] * 64, "is constant (every value is 0.5): not a trained head (certain)"),
    ([1, 64], [float("nan")] + [0.01 * i for i in range(63)], "has 1 NaN/Inf value"),
    ([1, 64], [float("inf")] * 2 + [0.01 * i for i in range(62)], "has 2 NaN/Inf values"),
    ([1, 4], [0.1, 0.2, 0.3, 0.4], "is a placeholder of shape [1, 4] where [1, 64] belongs: a ZeRO-3 partition saved "
                                   "without gathering"),
    ([0], [], "is empty (shape [0]): a ZeRO-3 partition saved without gathering"),
])
def test_value_head_states_are_worded_by_the_rule(tmp_path, shape, values, words):
    _config(tmp_path, hidden_size=64)
    _safetensors(tmp_path / "model.safetensors", {"value_head.weight": ("F32", shape, _floats(values))})
    assert inspected(tmp_path, "RM615") == [f"value head `value_head.weight` {words}"]


def _sharded(folder, weight_map: dict, shards: dict):
    _config(folder)
    (folder / "model.safetensors.index.json").write_text(json.dumps({"weight_map": weight_map}))
    for shard, names in shards.items():
        _safetensors(folder / shard, {name: ("F32", [1, 8], _floats([0.01 * (i + 1) for i in range(8)]))
                                      for name in names})


A, B, C = (f"model-0000{i}-of-00003.safetensors" for i in (1, 2, 3))


@pytest.mark.parametrize("weight_map, shards, words", [
    ({"a.weight": A, "value_head.weight": B}, {A: ["a.weight", "value_head.weight"], B: ["value_head.weight"]},
     "`value_head.weight` is in both " + A + " and " + B),
    ({"a.weight": A, "b.weight": A}, {A: ["a.weight"]}, f"the index maps `b.weight` to {A}, but no shard holds it"),
    ({"a.weight": A}, {A: ["a.weight", "value_head.weight"]}, f"`value_head.weight` in {A} is not in the index's "
                                                               "weight_map"),
])
def test_index_and_shards_disagreeing_is_worded_by_the_rule(tmp_path, weight_map, shards, words):
    _sharded(tmp_path, weight_map, shards)
    assert inspected(tmp_path, "RM618") == [f"`{tmp_path}`: {words}"]


def test_each_missing_shard_is_its_own_finding(tmp_path):
    _sharded(tmp_path, {"a.weight": A, "b.weight": B, "c.weight": B, "value_head.weight": C}, {A: ["a.weight"]})
    assert inspected(tmp_path, "RM617") == [
        f"`{tmp_path}`: the index names a missing shard: {B} (2 tensors)",
        f"`{tmp_path}`: the index names a missing shard: {C} (1 tensor, the head value_head.weight among them)"]


@pytest.mark.parametrize("zero, rule, message", [
    ('"sub_group_size": -5', "RM225", "`zero_optimization.sub_group_size` is -5; DeepSpeed accepts at least 0"),
    # before: "DeepSpeed expects float" / "expects bool" (the Python type's name)
    ('"offload_optimizer": {"device": "cpu", "ratio": "0.5"}', "RM212",
     "`zero_optimization.offload_optimizer.ratio` is the string \"0.5\"; DeepSpeed expects a number (DeepSpeed "
     ">= 0.12.3; the DeepSpeed version is not known)"),     # offload_optimizer.ratio came in 0.12.3
    ('"contiguous_gradients": "true"', "RM212",
     "`zero_optimization.contiguous_gradients` is the string \"true\"; DeepSpeed expects true or false"),
])
def test_deepspeed_values_are_worded_by_the_rule(tmp_path, zero, rule, message):
    text = '{"train_micro_batch_size_per_gpu": 1, "zero_optimization": {"stage": 2, ' + zero + '}}\n'
    assert [m for _, _, m in messages(tmp_path, "ds_config.json", text, rule)] == [message]


def test_release_ranges_are_a_list_the_rule_joins():
    from rmlint.engine import render
    from rmlint.frameworks.deepspeed.releases import releases
    from rmlint.rules import builtin
    versions = releases().versions
    ranges = releases().span([0, 1, 3, len(versions) - 1])
    assert ranges == [f"<= {versions[1]}", versions[3], f">= {versions[-1]}"]
    rule = next(r for r in builtin() if r.name == "ignored-deepspeed-key")
    item = {"path": "zzz", "suggestion": "", "releases": ranges}
    assert render(rule.message, {"item": item}) == (
        f"DeepSpeed ignores `zzz` without a word (DeepSpeed <= {versions[1]}, {versions[3]}, >= {versions[-1]}; "
        "the DeepSpeed version is not known)")


@pytest.mark.parametrize("line, found", [
    ("deepspeed --module openrlhf.cli.train_rm --pretrain m --lora --bf16",
     ("RM401", "`--lora`: ambiguous option: could match --lora_alpha, --lora_dropout, --lora_rank")),
    ("deepspeed --module openrlhf.cli.train_rm --pretrain m --micro_train_batch_size --bf16",
     ("RM403", "`--micro_train_batch_size` expects a value")),
    ("deepspeed --module openrlhf.cli.train_dpo --pretrain m --adam_betas 0.9 --bf16",
     ("RM403", "`--adam_betas` expects 2 values")),
    ("deepspeed --module openrlhf.cli.train_rm --pretrain m --bf16 stray_word",
     ("RM403", "unrecognized argument `stray_word`")),
    ("deepspeed --module openrlhf.cli.train_rm --pretrain m --bf16 --max_len abc",
     ("RM403", "`--max_len`: invalid int value: 'abc'")),
    ("deepspeed --module openrlhf.cli.train_rm --pretrain m --bf16 --load_model x",
     ("RM421", "`openrlhf.cli.train_rm`: OpenRLHF >= 0.3.6 only can run it as a module, but the flags fit OpenRLHF "
               "<= 0.1.0; run `examples/train_rm.py`")),
])
def test_openrlhf_flag_problems_are_worded_by_the_rule(tmp_path, line, found):
    rule, message = found
    assert [m for _, _, m in messages(tmp_path, "train.sh", line + "\n", rule)] == [message]


def test_namespace_attribute_without_a_known_release():
    import argparse

    import rmlint
    from rmlint.config import Settings
    args = argparse.Namespace(pretrain="m", bf16=True, zero_stage=2, my_schedule="cosine")
    result = rmlint.check_namespace(args, entrypoint="train_rm", select=["RM431"],
                                    settings=Settings(installed_versions=False))
    assert [f.message for f in result.findings] == [
        "`args.my_schedule` is no flag of train_rm in any OpenRLHF release rmlint knows; rmlint did not check it"]


@pytest.mark.parametrize("comment, codes", [("# rmlint: ignore[RM201, RM602]", "RM201, RM602"),
                                            ("# rmlint: ignore[]", "nothing")])
def test_suppression_without_reason_names_its_codes(tmp_path, comment, codes):
    text = comment + "\ndeepspeed --module openrlhf.cli.train_rm --pretrain m --bf16\n"
    assert messages(tmp_path, "train.sh", text, "RM004") == [
        (1, 1, f"suppression of {codes} gives no reason; write why after the brackets")]


@pytest.mark.parametrize("char, name", [("\u2014", "an em dash (—)"), ("\u2212", "a minus sign (−)")])
def test_pasted_characters_are_named_by_the_rule(tmp_path, char, name):
    text = f"deepspeed --module openrlhf.cli.train_rm --pretrain m {char}{char}bf16\n"
    assert [m for _, _, m in messages(tmp_path, "train.sh", text, "RM010")] == [
        f"`{char}{char}bf16` holds {name}: the shell and argparse do not read it as a flag or a word break (text "
        "pasted from a web page?)"]


TYPO = '{"train_batch_size": 8, "zero_optimization": {"stage": 2, "overlap_com": true}}\n'
FIX = " (the fix: `zero_optimization.overlap_com` -> `overlap_comm`)"


def _refuse_to_write(monkeypatch, how: str):
    import os
    import tempfile
    if how == "not-writable":
        monkeypatch.setattr(os, "access", lambda path, mode: False)
    else:
        def no_temporary(*args, **kwargs):
            raise OSError(13, "Permission denied")
        monkeypatch.setattr(tempfile, "mkstemp", no_temporary)


@pytest.mark.parametrize("how, words", [("not-writable", "the file is not writable; not written"),
                                        ("no-temporary", "cannot write beside it: Permission denied; not written")])
def test_a_fix_not_written_says_why(tmp_path, monkeypatch, how, words):
    (tmp_path / "ds.json").write_text(TYPO)
    monkeypatch.chdir(tmp_path)
    _refuse_to_write(monkeypatch, how)
    result = cli("check", "--fix", "--format", "json", "ds.json")
    assert (tmp_path / "ds.json").read_text() == TYPO
    assert [f["message"] for f in json.loads(result.output)["findings"] if f["rule"] == "RM030"] == [
        f"fix not applied: {words}{FIX}"]
