"""The library interface used inside launchers: returns findings, never prints or exits."""

import pytest

import rmlint


def test_lint_paths(capsys):
    result = rmlint.lint_paths(["sample_configs/seed-qlora-rm-zero3"])
    assert [(f.rule, f.line, f.column) for f in result.findings] == [("RM201", 21, 4), ("RM601", 24, 4)]
    assert result.errors == 2 and result.files == 1
    assert capsys.readouterr() == ("", "")


def test_lint_argv():
    result = rmlint.lint_argv(["deepspeed", "--module", "openrlhf.cli.train_rm", "--model.model_name_or_path", "m",
                               "--ds.zero_stage", "3", "--ds.load_in_4bit", "--ds.lora.rank", "16"])
    assert [f.rule for f in result.findings] == ["RM201", "RM601"]
    unknown = rmlint.lint_argv(["python", "train.py"])      # a launch, but of no framework rmlint can tell
    assert [(f.rule, f.severity) for f in unknown.findings] == [("RM006", "info")]
    assert unknown.launches == [{"path": "<argv>", "line": 1, "launcher": "python", "program": "train.py", "framework": "",
                                 "releases": "", "understood": False, "reason": "unknown script `train.py`: no framework's "
                                 "module, path or import says what it is"}]
    with pytest.raises(rmlint.UsageError):
        rmlint.lint_argv(["ls", "-l"])


def test_lint_config_deepspeed_and_openrlhf():
    result = rmlint.lint_config({"zero_optimization": {"stage": 2, "offload_param": {"device": "cpu"}}})
    assert [(f.rule, f.severity) for f in result.findings] == [("RM203", "warning")]
    result = rmlint.lint_config({"entrypoint": "train_rm", "pretrain": "m", "bf16": True, "zero_stage": 3,
                                 "load_in_4bit": True, "lora_rank": 16}, kind="openrlhf")
    assert [f.rule for f in result.findings] == ["RM201", "RM601"]
    with pytest.raises(rmlint.UsageError):
        rmlint.lint_config({}, kind="axolotl")


def test_selection_in_the_library():
    result = rmlint.lint_paths(["sample_configs/deepspeed-typos"], select=["RM1"])
    assert [f.rule for f in result.findings] == ["RM101"]
