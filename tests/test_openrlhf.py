"""OpenRLHF launches: CLI generations, defaults per release, models and their DeepSpeed configs."""

import pytest

from conftest import findings_of_text, rules_of_command
from rmlint import inputs


def subjects(command: str):
    found, problems = inputs.subjects_of_text("launch.sh", command + "\n")
    assert problems == []
    return found


def facts(command: str, kind: str = None):
    for subject in subjects(command):
        if kind is None or subject.facts["role"]["kind"] == kind:
            return subject.facts, subject
    raise AssertionError(f"no {kind} in {command}")


@pytest.mark.parametrize("flags,generation,releases", [
    ("--pretrain m --bf16 --flash_attn", 1, "0.3.6 - 0.8.9.post1"),
    ("--pretrain m --bf16 --attn_implementation sdpa", 1, "0.8.10 - 0.9.1.post1"),
    ("--pretrain m --param_dtype bf16", 2, "0.9.2 - 0.10.1.post2"),
    ("--model.model_name_or_path m --ds.zero_stage 3", 3, ">= 0.10.2"),
    ("--pretrain m", 0, "0.3.6 - 0.10.1.post2"),
])
def test_generation_is_detected_from_the_flags(flags, generation, releases):
    """openrlhf.cli modules exist from 0.3.6 on (examples/train_*.py scripts before)."""
    launch = facts(f"deepspeed --module openrlhf.cli.train_rm {flags}")[0]["launch"]
    assert (launch["generation"], launch["releases"]) == (generation, releases)


def test_defaults_follow_the_generation():
    old, _ = facts("deepspeed --module openrlhf.cli.train_rm --pretrain m --flash_attn")
    assert old["args"]["dtype"] == "fp32" and old["ds"]["bf16"]["enabled"] is False
    new, _ = facts("deepspeed --module openrlhf.cli.train_rm --pretrain m --param_dtype bf16")
    assert new["args"]["dtype"] == "bf16" and new["args"]["value_head_prefix"] == "score"
    assert new["args"]["attn"] == "flash_attention_2"


def test_a_default_that_changed_inside_the_possible_releases_is_unknown():
    # value_head_prefix was "value_head" before 0.5.3 and "score" after: --bf16 spans both
    _, subject = facts("deepspeed --module openrlhf.cli.train_rm --pretrain m --bf16")
    assert "args.value_head_prefix" in subject.unknown
    _, subject = facts("deepspeed --module openrlhf.cli.train_rm --pretrain m --bf16 --value_head_prefix score")
    assert "args.value_head_prefix" not in subject.unknown


def test_init_value_head_per_role():
    rm, _ = facts("deepspeed --module openrlhf.cli.train_rm --pretrain sft --param_dtype bf16")
    assert rm["role"]["init_value_head"] is True
    ppo = "python3 -m openrlhf.cli.train_ppo_ray --pretrain sft --reward_pretrain rm --param_dtype bf16 --vllm_num_engines 1"
    assert [s.facts["role"]["kind"] for s in subjects(ppo)] == ["actor", "ref", "reward", "critic"]
    critic, _ = facts(ppo, "critic")
    assert (critic["role"]["path"], critic["role"]["init_value_head"]) == ("rm", False)
    reward, _ = facts(ppo, "reward")
    assert reward["role"]["init_value_head"] is False
    critic, _ = facts(ppo + " --critic_pretrain sft", "critic")
    assert critic["role"]["init_value_head"] is True
    remote = "python3 -m openrlhf.cli.train_ppo_ray --pretrain sft --remote_rm_url http://x --param_dtype bf16"
    critic, _ = facts(remote, "critic")
    assert (critic["role"]["path"], critic["role"]["init_value_head"]) == ("sft", True)
    assert [s.facts["role"]["kind"] for s in subjects(remote + " --advantage_estimator rloo")] == ["actor", "ref"]


def test_derived_deepspeed_config_mirrors_openrlhf():
    ppo = ("python3 -m openrlhf.cli.train_ppo_ray --pretrain a --reward_pretrain r --param_dtype bf16 --zero_stage 2 "
           "--adam_offload --ref_reward_offload --ring_attn_size 2 --train_batch_size 64 --micro_train_batch_size 2")
    actor, _ = facts(ppo, "actor")
    zero = actor["ds"]["zero_optimization"]
    assert (zero["stage"], zero["offload_optimizer"]["device"], zero["offload_param"]["device"]) == (2, "cpu", "none")
    assert (actor["ds"]["train_batch_size"], actor["ds"]["train_micro_batch_size_per_gpu"]) == (128, 2)
    reward, _ = facts(ppo, "reward")
    zero = reward["ds"]["zero_optimization"]
    assert (zero["stage"], zero["offload_param"]["device"]) == (0, "cpu")


def test_batch_groups_use_each_groups_gpus():
    base = ("python3 -m openrlhf.cli.train_ppo_ray --pretrain a --reward_pretrain r --param_dtype bf16 "
            "--train_batch_size 64 --micro_train_batch_size 4 --actor_num_gpus_per_node 4 --critic_num_gpus_per_node 4 "
            "--ref_num_gpus_per_node 4 --vllm_num_engines 1 ")
    assert "RM301" not in rules_of_command(base + "--reward_num_gpus_per_node 4")
    assert "RM301" in rules_of_command(base + "--reward_num_gpus_per_node 3")
    # ring attention and DeepSpeed tensor parallel multiply the batch DeepSpeed sees
    rm = "deepspeed --num_gpus 8 --module openrlhf.cli.train_rm --pretrain m --param_dtype bf16 --micro_train_batch_size 2 "
    assert "RM301" in rules_of_command(rm + "--train_batch_size 8")
    assert "RM301" not in rules_of_command(rm + "--train_batch_size 8 --ring_attn_size 2 --packing_samples")


def test_launcher_gpu_counts():
    rm = "--module openrlhf.cli.train_rm --pretrain m --param_dtype bf16"
    for launcher, world in [("deepspeed --num_gpus 4", 4), ("deepspeed --num_nodes 2 --num_gpus 8", 16),
                            ("deepspeed --include localhost:0,1,2", 3), ("deepspeed", 0), ("deepspeed --hostfile h --num_gpus 8", 0)]:
        assert facts(f"{launcher} {rm}")[0]["role"]["gpus"] == world, launcher
    assert facts("torchrun --nproc_per_node 8 --nnodes 2 -m openrlhf.cli.train_rm --pretrain m")[0]["role"]["gpus"] == 16


def test_opaque_arguments_silence_rules_that_need_defaults():
    # $EXTRA could carry --bf16, so "no --bf16" cannot be claimed; explicit flags still count
    assert rules_of_command("deepspeed --module openrlhf.cli.train_rm --pretrain m --flash_attn") == ["RM103"]
    assert rules_of_command("deepspeed --module openrlhf.cli.train_rm --pretrain m --flash_attn $EXTRA") == ["RM006"]
    assert rules_of_command("deepspeed --module openrlhf.cli.train_rm --pretrain m --bf16 --zero_stage 3 "
                            "--load_in_4bit --lora_rank 8 --target_modules q_proj $EXTRA") == ["RM006", "RM201"]


def test_unknown_value_keeps_rules_quiet():
    assert rules_of_command("deepspeed --module openrlhf.cli.train_rm --pretrain m --bf16 --zero_stage $STAGE "
                            "--load_in_4bit --lora_rank 8 --target_modules q_proj v_proj value_head score") == []


def test_abbreviations_work_as_in_argparse():
    rm, _ = facts("deepspeed --module openrlhf.cli.train_rm --pretrain m --param_dtype bf16 --zero_st 3")
    assert rm["args"]["zero_stage"] == 3
    assert rules_of_command("deepspeed --module openrlhf.cli.train_rm --pretrain m --param_dtype bf16 --lora 8") == ["RM401"]


def test_finding_points_into_the_heredoc_of_the_upstream_layout():
    text = open("sample_configs/seed-qlora-rm-zero3/train_rm_qlora.sh").read()
    assert findings_of_text("s.sh", text) == [("RM201", 21, 4), ("RM601", 24, 4)]


def test_several_commands_in_one_file():
    text = ("deepspeed --module openrlhf.cli.train_rm --pretrain m --bf16 --zero_stage 3 --load_in_4bit --lora_rank 8 "
            "--target_modules q_proj score\n"
            "python3 -m openrlhf.cli.train_ppo_ray --pretrain a --reward_pretrain r --bf16 --packing_samples\n")
    # RM602: the head was called value_head (not score) up to 0.5.2.post1, which the flags also fit
    assert findings_of_text("two.sh", text) == [("RM201", 1, 62), ("RM602", 1, 106), ("RM405", 2, 79)]
