"""Launch forms read as what they are: `uv run ...` wrappers, LLaMA-Factory's `src/train.py x.yaml`
without `--stage`, DeepSpeed's ds_to_universal tool (OpenRLHF's ckpt_ds_zero_to_universal.sh), and a
`<placeholder>` left in a command (DeepSpeedExamples' run_aml.sh), on upstream files fetched with
read_file (tests/fixtures/upstream/MANIFEST.tsv)."""

import importlib.util
import json
import os
import shutil
import subprocess
from pathlib import Path

from conftest import cli

FORMS = Path(__file__).resolve().parent / "fixtures" / "upstream" / "launch_forms"


def check(*paths) -> dict:
    result = cli("check", "--format", "json", *map(str, paths))
    assert result.exit_code in (0, 1), result.output
    return json.loads(result.output)


def launches(report: dict) -> list:
    return [(r["line"], r["launcher"], r["program"], r["framework"], r["releases"], r["understood"])
            for r in report["launches"]]


def findings(report: dict) -> list:
    return [(f["rule"], f["line"], f["message"]) for f in report["findings"]]


def test_uv_run_wrappers_are_read_through(tmp_path, monkeypatch):
    (tmp_path / "x.yaml").write_text("stage: rm\nmodel_name_or_path: m\nfinetuning_type: lora\n")
    (tmp_path / "go.sh").write_text(
        # LLaMA-Factory v0.9.2's README: `uv run --prerelease=allow llamafactory-cli train examples/...yaml`
        "uv run --prerelease=allow llamafactory-cli train x.yaml\n"
        "uv run --with deepspeed==0.15.4 --python 3.11 python -m openrlhf.cli.train_rm --pretrain m --bf16\n"
        "uv run -m openrlhf.cli.train_sft --pretrain m\n"
        "uv run --no-sync -- torchrun --nproc_per_node 2 src/train.py x.yaml\n")
    monkeypatch.chdir(tmp_path)
    assert launches(check("go.sh")) == [
        (1, "llamafactory-cli", "llamafactory-cli train", "llamafactory", "", True),
        (2, "python", "openrlhf.cli.train_rm", "openrlhf", "0.3.6 - 0.9.1.post1", True),
        (3, "python", "openrlhf.cli.train_sft", "openrlhf", "0.3.6 - 0.10.1.post2", True),
        (4, "torchrun", "src/train.py", "llamafactory", "", True)]


def test_a_uv_option_value_is_not_taken_for_the_program(tmp_path, monkeypatch):
    (tmp_path / "go.sh").write_text("uv run --with train.py --project . train.py --lr 1\n")
    monkeypatch.chdir(tmp_path)
    report = check("go.sh")
    assert [(r["program"], r["understood"]) for r in report["launches"]] == [("train.py", False)]


def test_accelerate_launch_of_src_train_with_a_yaml_and_no_stage(tmp_path, monkeypatch):
    # LLaMA-Factory v0.7.1-v0.8.0 examples/extras/fsdp_qlora/single_node.sh: the YAML gives the stage
    (tmp_path / "qlora.yaml").write_text("stage: sft\nmodel_name_or_path: m\nfinetuning_type: lora\n")
    (tmp_path / "go.sh").write_text("CUDA_VISIBLE_DEVICES=0,1 accelerate launch \\\n"
                                    "    --config_file fsdp_config.yaml \\\n    src/train.py qlora.yaml\n")
    monkeypatch.chdir(tmp_path)
    report = check("go.sh")
    assert launches(report) == [(1, "accelerate", "src/train.py", "llamafactory", "", True)]
    assert findings(report) == [("RM011", 1, "fsdp_config.yaml, which the launch names, is not found from here "
                                             "or beside the script; its settings were not checked")]


def test_ds_to_universal_is_a_tool_rmlint_lists_as_understood(tmp_path, monkeypatch):
    shutil.copy(FORMS / "ckpt_ds_zero_to_universal.sh", tmp_path)
    monkeypatch.chdir(tmp_path)
    report = check("ckpt_ds_zero_to_universal.sh")
    # process_dir is called three times (_actor, _critic, the folder itself): one launch at each call
    assert launches(report) == [(34, "python", "deepspeed.checkpoint.ds_to_universal", "deepspeed",
                                 ">= 0.11.2", True)] * 3
    assert findings(report) == []


def test_the_installed_deepspeed_has_the_ds_to_universal_module():
    package = os.path.dirname(importlib.util.find_spec("deepspeed").origin)   # found, not imported
    assert os.path.isfile(os.path.join(package, "checkpoint", "ds_to_universal.py"))


RUN_AML = [
    ("RM012", 8, "`<model name>` is a placeholder left in the command: bash reads `<` and `>` in it as "
                 "redirections (input from a file named `model`, output into the next word), so the command "
                 "does not run; put the real value in its place"),
    ("RM012", 9, "`<aml deployment name>` is a placeholder left in the command: bash reads `<` and `>` in it as "
                 "redirections (input from a file named `aml`, output into the next word), so the command does "
                 "not run; put the real value in its place"),
    ("RM012", 10, "`<aml endpoint URL>` is a placeholder left in the command: bash reads `<` and `>` in it as "
                  "redirections (input from a file named `aml`, output into the next word), so the command does "
                  "not run; put the real value in its place"),
    ("RM012", 11, "`<aml API key>` is a placeholder left in the command: bash reads `<` and `>` in it as "
                  "redirections (input from a file named `aml`, output into the next word), so the command does "
                  "not run; put the real value in its place")]


def test_placeholders_in_deepspeedexamples_run_aml_are_said_to_be_placeholders(tmp_path, monkeypatch):
    shutil.copy(FORMS / "run_aml.sh", tmp_path)
    monkeypatch.chdir(tmp_path)
    report = check("run_aml.sh")
    assert [f for f in findings(report) if f[0] != "RM006"] == RUN_AML     # no "runs as a command of its own"
    assert [(r["line"], r["program"]) for r in report["launches"]] == [(7, "./run_benchmark.py"),
                                                                       (18, "./src/plot_th_lat.py")]


def test_bash_itself_refuses_the_placeholder_before_the_program_starts(tmp_path):
    shutil.copy(FORMS / "run_aml.sh", tmp_path)
    ran = subprocess.run(["bash", "run_aml.sh"], cwd=tmp_path, capture_output=True, text=True, timeout=60)
    assert "model: No such file or directory" in ran.stderr
    assert "run_benchmark.py" not in ran.stderr        # python never started on it
    parsed = subprocess.run(["bash", "-n"], input="python train.py > <your log dir>/log.txt\n",
                            capture_output=True, text=True, timeout=60)
    assert parsed.returncode == 2 and "syntax error near unexpected token `<'" in parsed.stderr


def test_a_placeholder_after_a_redirection_is_a_syntax_error(tmp_path, monkeypatch):
    (tmp_path / "go.sh").write_text("deepspeed --module openrlhf.cli.train_rm --pretrain m > <your log dir>/log.txt\n"
                                    "sort <in.txt >out.txt\n")
    monkeypatch.chdir(tmp_path)
    assert findings(check("go.sh")) == [
        ("RM012", 1, "`<your log dir>` is a placeholder left in the command: after `>` bash finds `<` and stops "
                     "with a syntax error; put the real value in its place")]


def test_a_llamafactory_chat_or_export_yaml_is_not_read_as_a_training_config(tmp_path, monkeypatch):
    # LLaMA-Factory v0.7.1's README: `llamafactory-cli chat examples/inference/llama3_lora_sft.yaml`
    (tmp_path / "chat.yaml").write_text("model_name_or_path: m\nadapter_name_or_path: a\ntemplate: llama3\n")
    (tmp_path / "go.sh").write_text("llamafactory-cli chat chat.yaml\nllamafactory-cli export gone.yaml\n")
    monkeypatch.chdir(tmp_path)
    report = check("go.sh")
    assert [(r["line"], r["program"], r["understood"]) for r in report["launches"]] == [
        (1, "llamafactory-cli chat", True), (2, "llamafactory-cli export", True)]
    assert findings(report) == [("RM011", 2, "gone.yaml, which the launch names, is not found from here or beside "
                                             "the script; its settings were not checked")]


def test_a_placeholder_that_ends_its_line_is_a_syntax_error(tmp_path, monkeypatch):
    # OpenRLHF's slurm + ray example (v0.3.3 - v0.10.x): `OPENRLHF_PATH=<OPENRLHF_ROOT_PATH>`, a template value
    (tmp_path / "go.sh").write_text("OPENRLHF_PATH=<OPENRLHF_ROOT_PATH>\nMOUNT=\"$OPENRLHF_PATH:/openrlhf\"\n")
    monkeypatch.chdir(tmp_path)
    report = check("go.sh")
    assert [(f["rule"], f["severity"], f["line"], f["message"]) for f in report["findings"]] == [
        ("RM012", "warning", 1, "`<OPENRLHF_ROOT_PATH>` is a placeholder left in the command: bash reads `<` and `>` "
                                "in it as redirections, and `>` with nothing after it is a syntax error; put the real "
                                "value in its place")]
    parsed = subprocess.run(["bash", "-n", "go.sh"], cwd=tmp_path, capture_output=True, text=True, timeout=60)
    assert "syntax error near unexpected token `newline'" in parsed.stderr
