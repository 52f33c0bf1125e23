"""OpenRLHF across its whole history: flags of every release from 0.0.1 (examples/train_*.py) to 0.11.2
(the release wheels), entrypoints by module and by script path, rules that say for which releases
they hold, flags newer than the table, and a fork's own flags."""

import pytest

from conftest import cli, findings_of_text, rules_of_command
from rmlint import inputs
from rmlint.problems import reported_by
from rmlint.frameworks.openrlhf.flags import releases_matching, table


def launch_facts(command: str) -> list:
    found, problems = inputs.subjects_of_text("launch.sh", command + "\n")
    assert [p for p in problems if not reported_by(p, "launch-not-understood")] == []   # a launch listed as not understood
    return [s.facts for s in found]


def messages(text: str, rule: str) -> list:
    from rmlint.lint import Result, _finish, _policy
    subjects, problems = inputs.subjects_of_text("launch.sh", text)
    result = _finish(Result(findings=problems, files=1), subjects, _policy())
    return [f.message for f in result.findings if f.rule == rule]


def test_the_table_covers_every_release_from_0_0_1_to_0_11_2():
    versions = table().versions
    assert versions[0] == "0.0.1" and versions[-1] == "0.11.2"
    assert {"0.3.5", "0.3.6", "0.11.0", "0.11.1"} <= set(versions)
    # entrypoints were examples/ scripts up to 0.3.5 and openrlhf.cli modules from 0.3.6
    rm = table().programs["train_rm"]
    assert [table().versions[i] for i in (rm["script"][0][0], rm["script"][-1][1])] == ["0.0.1", "0.3.5"]
    assert [table().versions[i] for i in (rm["module"][0][0], rm["module"][-1][1])] == ["0.3.6", "0.11.2"]


def test_releases_matching_is_the_consumable_release_logic():
    assert releases_matching(["--actor.loss_agg_mode"]) == ["0.11.2"]
    assert releases_matching(["--algo.advantage.is_correction_enable"]) == ["0.10.2", "0.10.3", "0.10.4", "0.11.0",
                                                                            "0.11.1"]
    assert releases_matching(["--load_in_4bit", "--lora_rank=8"], "train_rm")[0] == "0.1.5"
    assert releases_matching(["--no_such_flag"]) == []


def test_a_0_11_2_launch_with_loss_agg_mode_passes():
    assert rules_of_command("python3 -m openrlhf.cli.train_ppo_ray --actor.model_name_or_path a "
                            "--reward.model_name_or_path r --ds.param_dtype bf16 --actor.loss_agg_mode token-mean "
                            "--vllm.num_engines 2") == []


def test_the_removed_is_correction_enable_is_reported_next_to_a_0_11_2_flag():
    text = ("python3 -m openrlhf.cli.train_ppo_ray --actor.model_name_or_path a --reward.model_name_or_path r "
            "--ds.param_dtype bf16 --actor.loss_agg_mode token-mean --algo.advantage.is_correction_enable "
            "--vllm.num_engines 2\n")
    assert messages(text, "RM402") == [
        "`--algo.advantage.is_correction_enable` exists only in OpenRLHF 0.10.2 - 0.11.1, but the other flags are "
        "from >= 0.11.2; use `--algo.advantage.is_correction_level`"]


def test_a_flag_newer_than_the_table_is_a_warning_naming_the_newest_release():
    text = ("python3 -m openrlhf.cli.train_ppo_ray --actor.model_name_or_path a --reward.model_name_or_path r "
            "--ds.param_dtype bf16 --fsdp.param_dtype bf16 --vllm.num_engines 2\n")
    found = findings_of_text("launch.sh", text)
    assert [f for f in found if f[0] in ("RM401", "RM420")] == [("RM420", 1, 120)]
    assert messages(text, "RM420")[0].startswith(
        "`--fsdp.param_dtype` is not a flag of train_ppo_ray in OpenRLHF up to 0.11.2, the newest release rmlint knows")
    # a near-miss of a known flag stays an error
    assert rules_of_command("python3 -m openrlhf.cli.train_ppo_ray --actor.model_name_or_path a "
                            "--reward.model_name_or_path r --ds.parm_dtype bf16 --vllm.num_engines 2") == ["RM401"]


@pytest.mark.parametrize("program,form", [
    ("train_rm.py", "script"), ("./train_rm.py", "script"), ("../train_rm.py", "script"),
    ("examples/train_rm.py", "script"), ("/home/u/OpenRLHF/examples/train_rm.py", "script"),
    ("openrlhf/cli/train_rm.py", "module"), ("--module openrlhf.cli.train_rm", "module"),
])
def test_entrypoints_by_module_and_by_script_path(program, form):
    facts = launch_facts(f"deepspeed {program} --pretrain m --bf16 --zero_stage 2")
    assert [f["launch"]["entrypoint"] for f in facts] == ["train_rm"]
    assert facts[0]["launch"]["releases"] == ("<= 0.3.5" if form == "script" else "0.3.6 - 0.9.1.post1")


def test_a_bare_script_name_is_openrlhf_only_with_its_flags():
    assert launch_facts("python train_rm.py --model_name m --lr 3 --output out --batch 4") == []


def test_a_script_the_matched_releases_no_longer_have():
    text = "deepspeed ../train_rm.py --pretrain m --param_dtype bf16 --zero_stage 2\n"
    assert messages(text, "RM421") == [
        "`../train_rm.py`: OpenRLHF <= 0.3.5 only can run it as a script, but the flags fit OpenRLHF 0.9.2 - "
        "0.10.1.post2; run `--module openrlhf.cli.train_rm`"]


def test_a_module_no_release_has():
    # not understood (the recogniser's RM006), never read as some other entrypoint
    assert findings_of_text("launch.sh", "deepspeed --module openrlhf.cli.train_grpo --pretrain m\n") == [
        ("RM006", 1, 20)]
    assert rules_of_command("deepspeed --module openrlhf.cli.train_kto --pretrain m --param_dtype bf16") == []
    # train_kto's module was removed after 0.9.5: flags of 0.10.2 make it a finding
    assert rules_of_command("deepspeed --module openrlhf.cli.train_kto --model.model_name_or_path m") == ["RM401"]


SEED = """set -x
read -r -d '' training_commands <<EOF
../train_rm.py \\
     --save_path ./ckpt/7b_llama \\
     --train_batch_size 128 \\
     --micro_train_batch_size 1 \\
     --pretrain meta-llama/Llama-2-7b-hf \\
     --bf16 \\
     --max_len 2048 \\
     --zero_stage 3 \\
     --lora_rank 64 \\
     --load_in_4bit \\
     --flash_attn \\
     --gradient_checkpointing
EOF

deepspeed $training_commands
"""


def test_the_seed_script_as_posted_gives_rm201_and_the_head_finding_per_release():
    """OpenRLHF #209 (January 2024): QLoRA + ZeRO-3 reward model with the examples-era heredoc. Up to
    0.2.6 find_all_linear_names took only Linear4bit layers, so the (never quantized) value head was
    frozen and left out of the adapter (RM602); from 0.2.7 "all-linear" wraps it (RM601)."""
    found = findings_of_text("seed.sh", SEED)
    assert ("RM201", 10, 6) in found
    assert messages(SEED, "RM602") == [
        "LoRA on the reward model (train_rm) targets only the Linear4bit layers (find_all_linear_names; the value "
        "head is never quantized) (OpenRLHF 0.1.5 - 0.2.6): the value head is neither trained nor saved"]
    assert messages(SEED, "RM601") == [
        "LoRA on the reward model (train_rm) with OpenRLHF 0.2.7 - 0.3.5 targets every linear layer: the value "
        "head is LoRA-wrapped, and its randomly initialised base weight is frozen and left out of the saved adapter"]


def test_without_4bit_old_releases_wrapped_the_head_and_0_1_4_saved_it_whole():
    text = "deepspeed ../train_rm.py --pretrain m --bf16 --zero_stage 2 --lora_rank 16\n"
    assert messages(text, "RM602") == []
    assert messages(text, "RM601") == [
        "LoRA on the reward model (train_rm) with OpenRLHF 0.1.5 - 0.3.5 targets every linear layer: the value head "
        "is LoRA-wrapped, and its randomly initialised base weight is frozen and left out of the saved adapter"]


def test_0_0_1_built_the_reward_model_on_critic_pretrain():
    command = ("ray job submit -- python3 examples/train_ppo_ray.py --pretrain a --critic_pretrain c "
               "--reward_model_path r.pt --sft_model_path s.pt --bf16")
    facts = launch_facts(command)
    assert facts[0]["launch"]["releases"] == "<= 0.0.1"
    assert "RM409" not in rules_of_command(command)


def test_a_fork_lists_its_own_flags(tmp_path, monkeypatch):
    (tmp_path / "pyproject.toml").write_text('[tool.rmlint.openrlhf]\nextra-flags = ["--my_reward_shaping"]\n')
    (tmp_path / "l.sh").write_text("deepspeed --module openrlhf.cli.train_rm --pretrain m --param_dtype bf16 "
                                   "--my_reward_shaping 0.5 --lora_rnk 3\n")
    monkeypatch.chdir(tmp_path)
    result = cli("check", "--output-format", "concise", "l.sh")
    assert [line.split(" ", 3)[2] for line in result.output.splitlines() if line.startswith("l.sh:")] == ["RM401"]
    assert "unknown flag `--lora_rnk`" in result.output
    (tmp_path / "pyproject.toml").write_text('[tool.rmlint.openrlhf]\nextra-flags = ["my flag"]\n')
    result = cli("check", "l.sh")
    assert result.exit_code == 2 and "`openrlhf.extra-flags` holds flags written as `--name`" in result.output
