"""--hub (issue 13, part 2): hub ids not in the local cache are read from a Hub through huggingface_hub,
headers only. The Hub here is a real HTTP server on 127.0.0.1 serving the tiny real checkpoints of
tests/fixtures/checkpoints at the Hub's file URLs; nothing leaves the machine."""

import json
import os
import shutil
import sys

import pytest

from conftest import FIXTURES, ROOT, cli, run_rmlint
from hub_server import Hub, running

SERVED = {"org/sft-no-head": "base_sft", "org/rm-score": "openrlhf_rm_prefix_mismatch",
          "org/rm-sharded": "sharded", "org/rm-adapter": "peft_lora_no_head", "org/refused": "base_sft",
          "org/slow": "base_sft", "org/cut": "base_sft", "org/rm-4bit": "qlora_4bit",
          "org/rm-2labels": "hf_seqcls_2labels"}

PPO = """#!/bin/bash
ray job submit --address="http://127.0.0.1:8265" \\
   -- python3 -m openrlhf.cli.train_ppo_ray \\
   --pretrain org/policy \\
   --reward_pretrain {reward} \\
   --critic_pretrain {critic} \\
   --value_head_prefix value_head \\
   --micro_train_batch_size 8 --train_batch_size 128 \\
   --bf16 --vllm_num_engines 2 --zero_stage 3
"""


@pytest.fixture
def hub(monkeypatch):
    server = Hub()
    for repo, fixture in SERVED.items():
        server.serve(repo, FIXTURES / fixture)
    server.refused.add("org/refused")
    server.slow.add("org/slow")
    server.cut.add("org/cut")
    with running(server) as endpoint:
        monkeypatch.setenv("HF_ENDPOINT", endpoint)
        monkeypatch.delenv("HF_TOKEN", raising=False)
        monkeypatch.delenv("HF_HUB_OFFLINE", raising=False)
        server.endpoint = endpoint
        yield server


def script(tmp_path, reward="org/sft-no-head", critic="org/rm-score"):
    path = tmp_path / "train_ppo.sh"
    path.write_text(PPO.format(reward=reward, critic=critic))
    return path


def report(result) -> tuple:
    data = json.loads(result.output)
    return ([(f["rule"], f["line"]) for f in data["findings"]],
            {s["model"]: s["reason"] for s in data.get("skipped_checkpoints", [])})


def header_length(path) -> int:
    with open(path, "rb") as handle:
        return int.from_bytes(handle.read(8), "little")


def test_done_when_the_missing_and_misplaced_heads_are_found_on_the_hub(hub, tmp_path):
    """HF_ENDPOINT=http://127.0.0.1:PORT rmlint check --hub train_ppo.sh, in a fresh process."""
    env = {"HF_ENDPOINT": hub.endpoint, "RMLINT_CACHE_DIR": str(tmp_path / "cache"), "NO_COLOR": "1"}
    result = run_rmlint("check", "--hub", "--format", "concise", str(script(tmp_path)), env=env)
    assert result.returncode == 1, result.stderr
    lines = result.stdout.splitlines()
    assert [line.split(" ")[2] for line in lines if " error RM6" in line] == ["RM606", "RM607"]
    assert any(line.startswith(f"{tmp_path}/train_ppo.sh:5:4: error RM606 ") for line in lines)
    assert any(line.startswith(f"{tmp_path}/train_ppo.sh:6:4: error RM607 ") and "score.weight" in line
               for line in lines)
    assert "note: checkpoint checks skipped for `org/policy`" in result.stderr + result.stdout
    assert "not read from the Hub: the Hub has no config.json or adapter_config.json for it (HTTP 404)" in \
        result.stderr + result.stdout
    assert "Traceback" not in result.stderr


def test_only_headers_are_read_at_most_256_kb_per_weight_file(hub, tmp_path):
    result = cli("check", "--hub", "--format", "json", str(script(tmp_path, critic="org/rm-sharded")))
    assert result.exit_code == 1
    weights = {key: sent for key, sent in hub.sent.items() if key[1].endswith(".safetensors")}
    assert sorted(weights) == [("org/rm-sharded", f"model-0000{i}-of-00003.safetensors") for i in (1, 2, 3)] + [
        ("org/sft-no-head", "model.safetensors")]
    for (repo, name), sent in weights.items():
        folder = FIXTURES / SERVED[repo]
        assert sent == 8 + header_length(folder / name) <= 256 * 1024          # the header, not one byte more
        assert sent < (folder / name).stat().st_size
    assert {method for method, path, _ in hub.requests} == {"HEAD", "GET"}
    assert [path for _, path, _ in hub.requests if "/resolve/main/" not in path] == []


def test_without_hub_nothing_is_fetched_and_huggingface_hub_is_not_imported(hub, tmp_path):
    result = cli("check", "--format", "json", str(script(tmp_path)))
    findings, skipped = report(result)
    assert hub.requests == []
    assert [rule for rule, _ in findings if rule in ("RM606", "RM607")] == []
    assert skipped["org/sft-no-head"].startswith("not a local path and not in the Hugging Face cache")
    code = ("import sys, rmlint.lint as l; l.lint_paths([sys.argv[1]]); "
            "print('huggingface_hub' in sys.modules)")
    import subprocess
    out = subprocess.run([sys.executable, "-c", code, str(script(tmp_path))], capture_output=True, text=True,
                         cwd=ROOT, env={**os.environ, "RMLINT_CACHE_DIR": str(tmp_path / "c")}, timeout=120)
    assert out.stdout.strip() == "False", out.stderr


def test_what_was_read_is_kept_by_commit_and_read_offline(hub, tmp_path, monkeypatch):
    first = report(cli("check", "--hub", "--format", "json", str(script(tmp_path))))
    asked = len(hub.requests)
    again = report(cli("check", "--hub", "--format", "json", str(script(tmp_path))))
    assert again == first
    assert {method for method, _, _ in hub.requests[asked:]} == {"HEAD"}     # the commit is asked, nothing more
    monkeypatch.setenv("HF_HUB_OFFLINE", "1")
    asked = len(hub.requests)
    assert report(cli("check", "--hub", "--format", "json", str(script(tmp_path))))[0] == first[0]
    assert len(hub.requests) == asked


def test_offline_with_nothing_kept_is_a_note(hub, tmp_path, monkeypatch):
    monkeypatch.setenv("HF_HUB_OFFLINE", "1")
    findings, skipped = report(cli("check", "--hub", "--format", "json", str(script(tmp_path))))
    assert hub.requests == []
    assert skipped["org/sft-no-head"] == ("not read from the Hub: HF_HUB_OFFLINE is set and rmlint's Hub cache "
                                          "holds no copy of it")


def test_hf_token_is_sent(hub, tmp_path, monkeypatch):
    monkeypatch.setenv("HF_TOKEN", "hf_test_token")
    cli("check", "--hub", "--format", "json", str(script(tmp_path)))
    assert hub.requests and all(auth == "Bearer hf_test_token" for _, _, auth in hub.requests)


@pytest.mark.parametrize("repo,reason", [
    ("org/refused", "not read from the Hub: config.json: HTTP 401, not allowed (a gated or private repo: set "
                    "HF_TOKEN)"),
    ("org/slow", "not read from the Hub: the Hub did not answer in time (hub-timeout)"),
    ("org/cut", "not read from the Hub: "),
    ("org/missing", "not read from the Hub: the Hub has no config.json or adapter_config.json for it (HTTP 404)"),
])
def test_refusals_timeouts_and_cut_responses_are_notes(hub, tmp_path, repo, reason):
    (tmp_path / ".rmlint.yaml").write_text("hub: true\nhub-timeout: 0.5\n")
    result = cli("check", "--format", "json", str(script(tmp_path, reward=repo)))
    assert result.exception is None or isinstance(result.exception, SystemExit)
    findings, skipped = report(result)
    assert skipped[repo].startswith(reason)
    assert [rule for rule, line in findings if line == 5] == []          # nothing judged on what was not read


def test_trl_ppo_reward_model_read_from_the_hub(hub, tmp_path):
    recipe = tmp_path / "ppo.yaml"
    recipe.write_text("model_name_or_path: org/policy\noutput_dir: o\nnum_ppo_epochs: 1\n"
                      "reward_model_path: org/sft-no-head\n")
    findings, _ = report(cli("check", "--hub", "--format", "json", str(recipe)))
    assert ("RM631", 4) in findings


def test_an_adapter_on_the_hub_is_an_adapter(hub, tmp_path):
    findings, _ = report(cli("check", "--hub", "--format", "json",
                             str(script(tmp_path, reward="org/rm-adapter", critic="org/rm-score"))))
    assert ("RM609", 5) in findings


def test_hub_setting_must_be_a_boolean(tmp_path):
    (tmp_path / ".rmlint.yaml").write_text("hub: yes please\n")
    result = cli("check", "--config", str(tmp_path / ".rmlint.yaml"), str(script(tmp_path)))
    assert result.exit_code == 2 and "`hub` must be true or false" in result.output


@pytest.mark.parametrize("reward,prefix,rule", [("org/rm-4bit", "value_head", "RM614"),
                                                ("org/rm-2labels", "score", "RM613")])
def test_quantized_and_two_output_heads_read_from_the_hub(hub, tmp_path, reward, prefix, rule):
    text = PPO.format(reward=reward, critic="org/rm-score").replace("value_head_prefix value_head",
                                                                    f"value_head_prefix {prefix}")
    (tmp_path / "train_ppo.sh").write_text(text)
    findings, _ = report(cli("check", "--hub", "--format", "json", str(tmp_path / "train_ppo.sh")))
    assert (rule, 5) in findings
