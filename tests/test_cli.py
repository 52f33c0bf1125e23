"""The command line as a user sees it: output, exit codes, formats, selection, stdin."""

import json
from pathlib import Path

from conftest import SAMPLES, cli, run_rmlint

SEED = "sample_configs/seed-qlora-rm-zero3/train_rm_qlora.sh"
TYPOS = "sample_configs/deepspeed-typos/ds_config.json"
CLEAN = "sample_configs/openrlhf-v0.11.0-train-rm"


def test_findings_exit_1_with_location_and_fix():
    result = cli("check", SEED)
    assert result.exit_code == 1
    lines = result.output.splitlines()
    assert lines[0].startswith(f"{SEED}:21:4: error RM201 QLoRA (`--load_in_4bit`) with ZeRO stage 3")
    assert lines[0].endswith("[qlora-with-zero3]")
    source = Path(SEED).read_text().splitlines()[20]    # line 21 of the script, a caret under column 4
    assert lines[1:4] == ["   |", f"21 | {source}", "   |    ^"] and source.startswith("   --zero_stage 3")
    assert lines[4] == "  fix: Use ZeRO stage 2 with QLoRA (`--zero_stage 2` / `--ds.zero_stage 2`), or train without 4-bit."
    assert lines[-3] == "Found 2 errors, 0 warnings in 1 file checked."
    concise = cli("check", "--output-format", "concise", SEED).output.splitlines()
    assert concise[0] == lines[0] and concise[1] == lines[4] and len(concise) == len(lines) - 6
    assert lines[-1] == "1 more fixable with `--fix --unsafe-fixes`."
    assert lines[-2] == (f"note: checkpoint checks skipped for `Qwen/Qwen1.5-7B` ({SEED}:17:4): not a local path "
                         "and not in the Hugging Face cache (/nonexistent/rmlint-tests/hf-hub)")


def test_clean_input_exits_0():
    result = cli("check", CLEAN)
    assert result.exit_code == 0
    assert result.output == (
        "All checks passed (1 file checked).\n"
        f"note: checkpoint checks skipped for `OpenRLHF/Llama-3-8b-sft-mixture` ({CLEAN}/train_rm.sh:11:4): "
        "not a local path and not in the Hugging Face cache (/nonexistent/rmlint-tests/hf-hub)\n")


def test_warnings_pass_unless_strict():
    path = "sample_configs/deepspeed-axolotl-unprefixed-auto"
    assert cli("check", path).exit_code == 0
    assert cli("check", "--strict", path).exit_code == 1


def test_json_document_is_stable():
    result = cli("check", "--format", "json", TYPOS)
    assert result.exit_code == 1
    document = json.loads(result.output)
    assert document["version"] == 1
    assert document["summary"] == {"files": 1, "errors": 2, "warnings": 3, "skipped_files": 0}
    first = document["findings"][0]
    assert list(first) == ["rule", "name", "severity", "message", "path", "line", "column", "fix"]
    assert (first["rule"], first["line"], first["column"], first["severity"]) == ("RM208", 3, 3, "warning")
    assert first["message"] == ("DeepSpeed ignores `gradient_acumulation_steps` without a word; "
                                "did you mean `gradient_accumulation_steps`?")


def test_select_and_ignore_by_id_prefix_and_name():
    def rules(*args):
        return [f["rule"] for f in json.loads(cli("check", "--format", "json", *args, TYPOS).output)["findings"]]
    assert rules() == ["RM208", "RM101", "RM203", "RM209", "RM207"]
    assert rules("--select", "RM2") == ["RM208", "RM203", "RM209", "RM207"]
    assert rules("--select", "fp16-and-bf16-enabled") == ["RM101"]
    assert rules("--ignore", "RM208,RM209", "--ignore", "RM1") == ["RM203", "RM207"]


def test_unknown_selector_is_a_usage_error():
    result = cli("check", "--select", "RM999", TYPOS)
    assert result.exit_code == 2
    assert result.output == ("Error: select: unknown rule selector `RM999` (use an id like RM003, a prefix like "
                             "RM0, or a name like duplicate-key)\n")
    typo = cli("check", "--ignore", "qlora-with-zero-3", TYPOS)
    assert typo.exit_code == 2
    assert typo.output == "Error: ignore: unknown rule selector `qlora-with-zero-3`; did you mean `qlora-with-zero3`?\n"


def test_missing_path_is_a_usage_error():
    result = cli("check", "no/such/file.json")
    assert result.exit_code == 2
    assert "no/such/file.json: no such file or directory" in result.output


def test_stdin():
    result = cli("check", "-", input='{"fp16": {"enabled": true}, "bf16": {"enabled": true}}')
    assert result.exit_code == 1
    assert result.output.startswith("<stdin>:1:38: error RM101 `fp16.enabled` and `bf16.enabled` are both true")
    launch = "deepspeed --module openrlhf.cli.train_rm --pretrain m --bf16 --zero_stage 3 --load_in_4bit --lora_rank 8\n"
    result = cli("check", "-", input=launch)
    assert "<stdin>:1:62: error RM201" in result.output


def test_directory_is_walked_recursively():
    result = cli("check", "--format", "json", "sample_configs")
    document = json.loads(result.output)
    written = [p for p in SAMPLES.rglob("*") if p.suffix in (".sh", ".json", ".yaml", ".yml")]
    assert document["summary"]["files"] == len(written) >= 16
    assert {f["path"].split("/")[1] for f in document["findings"]} >= {"seed-qlora-rm-zero3", "broken-json"}


def test_check_args():
    result = cli("check-args", "--", "deepspeed", "--num_gpus", "7", "--module", "openrlhf.cli.train_rm",
                 "--pretrain", "m", "--bf16", "--train_batch_size", "256", "--micro_train_batch_size", "2")
    assert result.exit_code == 1
    assert result.output.startswith("<argv>:1:75: error RM301 train batch 256 is not a multiple of micro batch 2 x 7 GPUs")
    result = cli("check-args", "--", "python", "train.py", "--lr", "1")
    assert result.exit_code == 0 and "info RM006 launch not understood (train.py): unknown script" in result.output
    assert "note: launch not understood at <argv>:1" in result.output and "All checks passed" not in result.output
    result = cli("check-args", "--", "ls", "-l")
    assert result.exit_code == 2 and "no launch in the arguments" in result.output


def test_rules_table_and_explain():
    table = cli("rules").output.splitlines()
    assert table[0].split() == ["id", "name", "severity", "summary"]
    assert any(line.startswith("RM201  qlora-with-zero3") for line in table)
    page = cli("explain", "qlora-with-zero3").output
    assert page.startswith("# RM201 qlora-with-zero3 (error)\n")
    for section in ("## What it does", "## Why is this bad?", "## Example", "## Use instead", "## Fix", "## References"):
        assert section in page
    assert "deepspeed --module openrlhf.cli.train_rm --pretrain m --bf16 --zero_stage 3 --load_in_4bit" in page
    missing = cli("explain", "RM999")
    assert missing.exit_code == 2 and "no rule 'RM999'" in missing.output


def test_python_dash_m_and_version():
    result = run_rmlint("--version")
    assert result.returncode == 0 and result.stdout.strip() == "rmlint, version 0.1.0"
    result = run_rmlint("check", SEED, env={"NO_COLOR": "1"})
    assert result.returncode == 1 and "\033[" not in result.stdout


def test_the_caret_stands_under_the_column_on_long_lines_and_tabs(tmp_path):
    script = tmp_path / "train.sh"
    script.write_text("\tdeepspeed --module openrlhf.cli.train_rm --pretrain m --bf16 --micro_train_batch_size 4 "
                      "--train_batch_size 128 --zero_stage 3 --load_in_4bit --lora_rank 8 --target_modules q_proj\n")
    lines = cli("check", "--select", "RM201", str(script)).output.splitlines()
    column = int(lines[0].split(":")[2])
    source = script.read_text().splitlines()[0]
    assert source[column - 1:].startswith("--zero_stage 3") and column > 100
    shown, caret = lines[2], lines[3]
    assert shown.startswith("1 | ...") and shown.endswith("...") and len(shown) < 120
    assert shown[caret.index("^"):].startswith("--zero_stage 3")
    short = tmp_path / "short.sh"
    short.write_text("\tdeepspeed --module openrlhf.cli.train_sft --pretrain m --zero_stage 3 --load_in_4bit --lora_rank 8\n")
    lines = cli("check", "--select", "RM201", str(short)).output.splitlines()
    assert lines[2] == "1 | " + short.read_text().rstrip("\n")
    column = int(lines[0].split(":")[2])
    assert lines[3] == "  | \t" + " " * (column - 2) + "^" and short.read_text()[column - 1:].startswith("--zero_stage 3")
