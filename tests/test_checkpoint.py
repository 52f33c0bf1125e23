"""`rmlint inspect` and the checkpoint rules over the fixtures the real libraries saved
(tests/fixtures/checkpoints, made by tools/make_checkpoint_fixtures.py): exact findings, output,
exit codes, and checkpoints found from launches (local paths and the Hugging Face cache)."""

import json
import shutil

import pytest

from conftest import FIXTURES, cli, findings_of_text

# fixture -> [(rule, file the finding names, line)] for `rmlint inspect <fixture>`; line 0 is a binary file
EXPECTED = {
    "base_sft": [("RM621", "base_sft/model.safetensors", 0)],
    "bin_sharded": [],
    "deepspeed_zero_ckpt": [("RM619", "deepspeed_zero_ckpt", 0)],
    "dschat_rm_bin": [],
    "foreign_head": [("RM622", "foreign_head/model.safetensors", 0)],
    "hf_seqcls": [],
    "hf_seqcls_2labels": [("RM613", "hf_seqcls_2labels/model.safetensors", 0)],
    "llamafactory_lora_rm": [],
    "openrlhf_rm_full": [],
    "openrlhf_rm_missing_head": [("RM606", "openrlhf_rm_missing_head/config.json", 34)],
    "openrlhf_rm_prefix_mismatch": [],
    "openrlhf_rm_value_head_no_prefix": [("RM607", "openrlhf_rm_value_head_no_prefix/model.safetensors", 0)],
    "peft_lora_head_only_lora": [("RM611", "peft_lora_head_only_lora/adapter_config.json", 29),
                                 ("RM610", "peft_lora_head_only_lora/adapter_model.safetensors", 0)],
    "peft_lora_no_head": [("RM611", "peft_lora_no_head/adapter_config.json", 29),
                          ("RM610", "peft_lora_no_head/adapter_model.safetensors", 0)],
    "peft_lora_value_head_saved": [],
    "peft_lora_score_all_linear": [("RM611", "peft_lora_score_all_linear/adapter_config.json", 29),
                                   ("RM610", "peft_lora_score_all_linear/adapter_model.safetensors", 0)],
    "peft_lora_score_saved": [],
    "peft_no_tensors": [("RM616", "peft_no_tensors/adapter_model.safetensors", 0)],
    "peft_seqcls": [],
    "peft_seqcls_value_head": [("RM610", "peft_seqcls_value_head/adapter_model.safetensors", 0)],
    "peft_zero3_bin": [],
    "peft_zero3_empty": [("RM615", "peft_zero3_empty/adapter_model.safetensors", 0),
                         ("RM616", "peft_zero3_empty/adapter_model.safetensors", 0)],
    "qlora_4bit": [],
    "sharded": [],
    "sharded_missing_shard": [("RM617", "sharded_missing_shard/model.safetensors.index.json", 1)],
    "sharded_wrong_map": [("RM618", "sharded_wrong_map/model.safetensors.index.json", 1)],
    "trl_valuehead_full": [],
    "untrained_head": [("RM620", "untrained_head/model.safetensors", 0)],
    "zero3_empty_head": [("RM615", "zero3_empty_head/model.safetensors", 0),
                         ("RM616", "zero3_empty_head/model.safetensors", 0)],
    "zero_head": [("RM615", "zero_head/model.safetensors", 0)],
}
HOSTILE = {   # file -> the RM001 message (safetensors' own error in brackets where it has one)
    "binary_garbage.safetensors": "header length 5,528,167,307,511,379,802 bytes (at byte 0) is over safetensors' "
                                  "100 MB cap: not a safetensors file, or a corrupt one",
    "evil_pickle.bin": "pickle refused, nothing was run: global posix.system is not allowed",
    "header_longer_than_file.safetensors": "header length 4,096 bytes (at byte 0) runs past the end of the 15-byte "
                                           "file: truncated or not a safetensors file",
    "header_not_json.safetensors": "header is not JSON: Expecting value at byte 8",
    "header_too_large.safetensors": "header length 100,000,000,000 bytes (at byte 0) is over safetensors' 100 MB "
                                    "cap: not a safetensors file, or a corrupt one",
    "offsets_hole.safetensors": "tensor `a`: data begins at 128, leaving a hole from 0 (safetensors: invalid offset)",
    "offsets_outside_file.safetensors": "tensor `value_head.weight`: shape [1, 64] of F32 does not fit data_offsets "
                                        "[0, 1099511627776] (safetensors: invalid shape, data type, or offset)",
    "offsets_overlap.safetensors": "tensor `b`: data begins at 0, inside the tensor before it (safetensors: invalid "
                                   "offset)",
    "shape_mismatch.safetensors": "tensor `value_head.weight`: shape [1, 4096] of F32 does not fit data_offsets "
                                  "[0, 256] (safetensors: invalid shape, data type, or offset)",
    "truncated.safetensors": "tensors cover 256 bytes but the file holds 156 after the header: truncated "
                             "(safetensors: incomplete metadata, file not fully covered)",
}


@pytest.fixture(autouse=True)
def _in_fixtures(monkeypatch):
    monkeypatch.chdir(FIXTURES)


def inspect(*args):
    result = cli("inspect", "--format", "json", *args)
    return result.exit_code, json.loads(result.output)


def test_every_fixture_is_covered():
    assert sorted(EXPECTED) == sorted(p.name for p in FIXTURES.iterdir() if p.is_dir() and p.name != "hostile")


@pytest.mark.parametrize("fixture", sorted(EXPECTED))
def test_inspect_findings(fixture):
    code, report = inspect(fixture)
    found = [(f["rule"], f["path"], f["line"]) for f in report["findings"]]
    assert found == EXPECTED[fixture]
    assert code == (1 if any(f["severity"] == "error" for f in report["findings"]) else 0)
    assert all("{" not in f["message"] and "<missing" not in f["message"] for f in report["findings"])


@pytest.mark.parametrize("name", sorted(HOSTILE))
def test_hostile_files_are_refused_with_a_clear_message(name):
    code, report = inspect(f"hostile/{name}")
    assert code == 1
    assert [(f["rule"], f["path"], f["message"]) for f in report["findings"]] == [("RM001", f"hostile/{name}", HOSTILE[name])]


def test_the_control_file_reads_and_its_constant_head_is_reported():
    code, report = inspect("hostile/valid_control.safetensors")
    assert [f["rule"] for f in report["findings"]] == ["RM615"]
    assert report["checkpoints"][0]["head"]["shape"] == [1, 64]


def test_inspect_text_summary():
    result = cli("inspect", "openrlhf_rm_full")
    assert result.exit_code == 0
    assert result.output == (
        "openrlhf_rm_full\n"
        "  format        safetensors, 21 tensors, 278.4 KB\n"
        "  model         RewardModel, hidden size 64\n"
        "  head          value_head.weight [1, 64] BF16 in model.safetensors - OpenRLHF value head (prefix `value_head` from config.json)\n"
        "  values        std 0.1004; not at a known initialisation\n"
        "  quantization  none\n"
        "  normalize     normalize_reward on, mean/std in config.json\n"
        "\n"
        "All checks passed (1 file checked).\n")


def test_inspect_text_for_a_broken_adapter():
    result = cli("inspect", "peft_lora_head_only_lora")
    assert result.exit_code == 1
    lines = result.output.splitlines()
    assert lines[:5] == ["peft_lora_head_only_lora",
                         "  format        PEFT adapter (LoRA r=4), 30 tensors, 37.5 KB",
                         "  head          only LoRA factors of `value_head`; no base weight",
                         "  quantization  none",
                         "  LoRA          r=4, task_type none, modules_to_save none, base base_sft"]
    assert lines[6].startswith("peft_lora_head_only_lora/adapter_config.json:29:3: error RM611 adapter_config.json "
                               "modules_to_save (none) does not name the head `value_head`")
    assert lines[8].startswith("peft_lora_head_only_lora/adapter_model.safetensors: error RM610 adapter "
                               "`peft_lora_head_only_lora` holds no `value_head.weight`: only its LoRA factors")
    assert lines[-1] == "Found 2 errors, 0 warnings in 1 file checked."


def test_inspect_json_carries_the_head_facts():
    code, report = inspect("qlora_4bit", "llamafactory_lora_rm", "dschat_rm_bin")
    quantized, llamafactory, dschat = report["checkpoints"]
    assert code == 0 and report["summary"] == {"files": 3, "errors": 0, "warnings": 0, "skipped_files": 0}
    assert quantized["quantization"] == {"method": "bitsandbytes", "bits": 4, "scheme": "nf4", "double_quant": True,
                                         "storage": "uint8"}
    assert quantized["head"]["dtype"] == "BF16" and quantized["tensors"] == 91
    assert (llamafactory["head"]["name"], llamafactory["head"]["file"]) == ("v_head.summary.weight", "value_head.safetensors")
    assert (dschat["format"], dschat["head"]["name"], dschat["head"]["dtype"]) == ("pytorch-bin", "v_head.weight", "F32")


def test_sharded_bin_and_adapter_bin_are_listed_without_torch():
    code, report = inspect("bin_sharded", "peft_zero3_bin")
    sharded, adapter = report["checkpoints"]
    assert (sharded["format"], sharded["shards"], sharded["tensors"]) == ("pytorch-bin-sharded", 2, 21)
    assert adapter["head"]["name"] == "base_model.model.value_head.weight" and adapter["lora"]["saves_head"]


@pytest.mark.parametrize("checkpoint, lines", [
    ("qlora_4bit", ["  quantization  4-bit bitsandbytes, nf4, double quant, storage uint8"]),
    ("bin_sharded", ["  format        sharded pytorch_model.bin (2 shards), 21 tensors, "]),
    ("sharded_missing_shard", ["  format        sharded safetensors (2 of 3 shards present), "]),
    ("deepspeed_zero_ckpt", ["  format        DeepSpeed checkpoint folder; DeepSpeed ZeRO-3 states in global_step10/ "
                             "(2 ranks), "]),
])
def test_inspect_summary_words_the_format_and_quantization(checkpoint, lines):
    shown = cli("inspect", checkpoint).output.splitlines()
    assert all(any(row.startswith(line) for row in shown) for line in lines), shown


def test_inspect_usage_errors_exit_2():
    assert cli("inspect", "no-such-checkpoint").exit_code == 2
    assert cli("inspect", "openrlhf_rm_full", "--select", "RM9").exit_code == 2


def test_a_file_inside_a_checkpoint_reads_the_folder_config():
    code, report = inspect("openrlhf_rm_missing_head/model.safetensors")
    assert [f["rule"] for f in report["findings"]] == ["RM606"]


# ----------------------------------------------------------------------------- launches

def launch_findings(command: str, script: str = "launch.sh"):
    return [(rule, line) for rule, line, _ in findings_of_text(script, command + "\n")]


def test_launch_reads_the_reward_checkpoint_and_points_at_its_flag():
    text = ("python3 -m openrlhf.cli.train_ppo_ray --pretrain base_sft \\\n"
            "  --reward_pretrain openrlhf_rm_missing_head \\\n  --bf16 --vllm_num_engines 2\n")
    assert findings_of_text("launch.sh", text) == [("RM606", 2, 3)]


def test_config_prefix_wins_over_the_flag():
    assert launch_findings("deepspeed --module openrlhf.cli.serve_rm --reward_pretrain openrlhf_rm_full "
                           "--value_head_prefix score --bf16") == []


def test_prefix_advice_uses_the_launch_generation():
    from rmlint.lint import lint_argv
    flat = lint_argv(["python3", "-m", "openrlhf.cli.serve_rm", "--reward_pretrain", "openrlhf_rm_value_head_no_prefix"])
    dotted = lint_argv(["python3", "-m", "openrlhf.cli.train_ppo_ray", "--actor.model_name_or_path", "base_sft",
                        "--reward.model_name_or_path", "openrlhf_rm_value_head_no_prefix", "--vllm.num_engines", "2"])
    assert "prefix from the --value_head_prefix default" in flat.findings[0].message
    assert "pass `--value_head_prefix value_head`" in flat.findings[0].message
    assert [f.rule for f in dotted.findings] == ["RM607"]
    assert "pass `--ds.value_head_prefix value_head`" in dotted.findings[0].message


def test_critic_loaded_from_the_rm_checks_its_head_and_normalisation():
    assert launch_findings("python3 -m openrlhf.cli.train_ppo_ray --pretrain base_sft --reward_pretrain "
                           "openrlhf_rm_prefix_mismatch --normalize_reward --bf16 --vllm_num_engines 2") == [("RM612", 1)]


def test_an_unreadable_checkpoint_is_rm001_at_its_flag(tmp_path):
    shutil.copy(FIXTURES / "hostile" / "truncated.safetensors", tmp_path / "model.safetensors")
    found = findings_of_text("launch.sh", f"deepspeed --module openrlhf.cli.serve_rm --reward_pretrain {tmp_path} --bf16\n")
    assert found == [("RM001", 1, 42)]   # and no head findings from a half-read checkpoint


def test_relative_path_beside_the_script(tmp_path, monkeypatch):
    (tmp_path / "ckpt").symlink_to(FIXTURES / "zero_head")
    script = tmp_path / "serve.sh"
    script.write_text("deepspeed --module openrlhf.cli.serve_rm --reward_pretrain ./ckpt --bf16\n")
    monkeypatch.chdir("/")
    result = cli("check", str(script))
    assert result.exit_code == 1 and f"{script}:1:42: error RM615 value head `value_head.weight` is all zeros" in result.output


def hf_cache(root, repo: str, fixture: str, with_ref: bool = True):
    """A Hugging Face hub cache entry as huggingface_hub lays it out: blobs, refs/main, snapshots/<commit>/."""
    entry = root / ("models--" + repo.replace("/", "--"))
    snapshot = entry / "snapshots" / "0123abcd"
    snapshot.mkdir(parents=True)
    for file in (FIXTURES / fixture).iterdir():
        (entry / "blobs").mkdir(exist_ok=True)
        shutil.copy(file, entry / "blobs" / file.name)
        (snapshot / file.name).symlink_to(entry / "blobs" / file.name)
    if with_ref:
        (entry / "refs").mkdir()
        (entry / "refs" / "main").write_text("0123abcd")


@pytest.mark.parametrize("variable,suffix", [("HF_HUB_CACHE", ""), ("HF_HOME", "hub")])
def test_hub_ids_are_read_from_the_local_hf_cache(tmp_path, monkeypatch, variable, suffix):
    monkeypatch.delenv("HF_HUB_CACHE")
    monkeypatch.setenv(variable, str(tmp_path))
    hf_cache(tmp_path / suffix if suffix else tmp_path, "acme/rm-7b", "openrlhf_rm_value_head_no_prefix")
    assert launch_findings("deepspeed --module openrlhf.cli.serve_rm --reward_pretrain acme/rm-7b --bf16") == [("RM607", 1)]


def test_hf_cache_without_refs_uses_its_snapshot(tmp_path, monkeypatch):
    monkeypatch.setenv("HF_HUB_CACHE", str(tmp_path))
    hf_cache(tmp_path, "acme/rm-7b", "zero_head", with_ref=False)
    assert launch_findings("deepspeed --module openrlhf.cli.serve_rm --reward_pretrain acme/rm-7b --bf16") == [("RM615", 1)]


def test_models_not_on_this_machine_are_said_to_be_skipped():
    from rmlint.lint import lint_argv
    result = lint_argv(["deepspeed", "--module", "openrlhf.cli.serve_rm", "--reward_pretrain", "acme/not-cached"])
    assert result.findings == []
    (model, where, reason), = result.skipped
    assert (model, where.line, where.column) == ("acme/not-cached", 1, 42)
    assert reason == "not a local path and not in the Hugging Face cache (/nonexistent/rmlint-tests/hf-hub)"
    output = cli("check-args", "--", "deepspeed", "--module", "openrlhf.cli.serve_rm", "--reward_pretrain",
                 "acme/not-cached").output
    assert output.splitlines()[-1] == ("note: checkpoint checks skipped for `acme/not-cached` (<argv>:1:42): not a "
                                       "local path and not in the Hugging Face cache (/nonexistent/rmlint-tests/hf-hub)")
    assert json.loads(cli("check-args", "--format", "json", "--", "deepspeed", "--module", "openrlhf.cli.serve_rm",
                          "--reward_pretrain", "acme/not-cached").output)["skipped_checkpoints"] == [
        {"model": "acme/not-cached", "path": "<argv>", "line": 1, "column": 42, "reason": reason,
         "reason_kind": "not-in-hf-cache"}]


def test_unknown_model_path_is_neither_checked_nor_reported_skipped():
    assert findings_of_text("launch.sh", "deepspeed --module openrlhf.cli.serve_rm --reward_pretrain $RM --bf16\n") == []


def test_a_launch_is_not_slowed_by_a_huge_sparse_checkpoint(tmp_path):
    """A 40 GB tensor declared in a real header over a sparse file: only the header and the head are read."""
    header = {"model.embed_tokens.weight": {"dtype": "BF16", "shape": [160_000, 128_000], "data_offsets": [0, 40_960_000_000]},
              "value_head.weight": {"dtype": "BF16", "shape": [1, 128_000], "data_offsets": [40_960_000_000, 40_960_256_000]}}
    raw = json.dumps(header).encode()
    raw += b" " * (-len(raw) % 8)
    path = tmp_path / "model.safetensors"
    with open(path, "wb") as handle:
        handle.write(len(raw).to_bytes(8, "little") + raw)
        handle.truncate(8 + len(raw) + 40_960_256_000)
    (tmp_path / "config.json").write_text(json.dumps({"architectures": ["RewardModel"], "hidden_size": 128_000,
                                                      "value_head_prefix": "value_head"}))
    code, report = inspect(str(tmp_path))
    assert [f["rule"] for f in report["findings"]] == ["RM615"]   # the sparse head reads as all zeros
    assert report["checkpoints"][0]["size"] == 8 + len(raw) + 40_960_256_000


def test_check_given_a_weight_file_inspects_it():
    result = cli("check", "zero_head/model.safetensors")
    assert result.exit_code == 1
    assert result.output.startswith("zero_head/model.safetensors: error RM615 value head `value_head.weight` is all zeros")


def test_an_arguments_file_reads_the_model_beside_it(tmp_path):
    (tmp_path / "rm").symlink_to(FIXTURES / "openrlhf_rm_missing_head")
    (tmp_path / "serve.yaml").write_text("entrypoint: openrlhf.cli.serve_rm\nreward_pretrain: ./rm\nbf16: true\n")
    result = cli("check", "--format", "json", str(tmp_path / "serve.yaml"))
    assert [(f["rule"], f["line"]) for f in json.loads(result.output)["findings"]] == [("RM606", 2)]


def test_an_early_openrlhf_reward_model_is_judged_by_todays_default_prefix(tmp_path):
    """OpenRLHF <= 0.2 saved `LLMForSequenceRegression` with `value_head.weight` and no prefix in config.json."""
    shutil.copy(FIXTURES / "openrlhf_rm_value_head_no_prefix" / "model.safetensors", tmp_path / "model.safetensors")
    config = json.loads((FIXTURES / "openrlhf_rm_value_head_no_prefix" / "config.json").read_text())
    (tmp_path / "config.json").write_text(json.dumps({**config, "architectures": ["LLMForSequenceRegression"]}))
    code, report = inspect(str(tmp_path))
    assert [f["rule"] for f in report["findings"]] == ["RM607"] and code == 1


def test_a_partial_download_in_the_hf_cache_is_skipped_not_judged(tmp_path, monkeypatch):
    """from_pretrained would fetch the missing files, so a cache entry with only config.json, or with
    shards still missing, is reported as skipped; the same folder given as a local path is judged."""
    from rmlint.lint import lint_argv
    monkeypatch.setenv("HF_HUB_CACHE", str(tmp_path))
    hf_cache(tmp_path, "acme/partial", "sharded_missing_shard")
    result = lint_argv(["deepspeed", "--module", "openrlhf.cli.serve_rm", "--reward_pretrain", "acme/partial"])
    assert result.findings == []
    assert result.skipped[0][2] == "the Hugging Face cache holds only part of it (weights not all downloaded)"
    local = tmp_path / "config-only"
    local.mkdir()
    shutil.copy(FIXTURES / "openrlhf_rm_full" / "config.json", local / "config.json")
    result = lint_argv(["deepspeed", "--module", "openrlhf.cli.serve_rm", "--reward_pretrain", str(local)])
    assert [f.rule for f in result.findings] == ["RM626"]


def test_an_adapter_config_given_to_check_inspects_its_folder(tmp_path):
    result = cli("check", "--format", "json", "peft_lora_no_head/adapter_config.json")
    assert [(f["rule"], f["path"], f["line"]) for f in json.loads(result.output)["findings"]] == [
        ("RM611", "peft_lora_no_head/adapter_config.json", 29), ("RM610", "peft_lora_no_head/adapter_model.safetensors", 0)]
    # with no weights beside it, a LoraConfig dump says what PEFT will save: this one names no head, so it
    # is not taken for a reward adapter; one that names a head PEFT will not find is
    alone = tmp_path / "adapter_config.json"
    config = json.loads((FIXTURES / "peft_lora_no_head" / "adapter_config.json").read_text())
    alone.write_text(json.dumps(config, indent=2))
    assert json.loads(cli("check", "--format", "json", str(alone)).output)["findings"] == []
    alone.write_text(json.dumps(dict(config, modules_to_save=["scores"]), indent=2))
    found = [(f["rule"], f["line"]) for f in json.loads(cli("check", "--format", "json", str(alone)).output)["findings"]]
    lines = alone.read_text().splitlines()
    assert found == [("RM625", lines.index('  "modules_to_save": [') + 1), ("RM624", lines.index('  "task_type": null,') + 1)]
