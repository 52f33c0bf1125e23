"""Is the PPO reward model a reward model? Told from the launch alone (issue 13, part 1): the policy's own
model, another tokenizer family, a chat/base model's name, LLaMA-Factory's reward_model_type."""

import pytest

from conftest import FIXTURES, cli


def findings(tmp_path, name, text, *args):
    path = tmp_path / name
    path.write_text(text)
    result = cli("check", "--format", "json", *args, str(path))
    import json
    data = json.loads(result.output)
    return result.exit_code, [(f["rule"], f["line"], f["column"], f["message"]) for f in data["findings"]]


PPO = """#!/bin/bash
set -x
ray job submit --address="http://127.0.0.1:8265" \\
   -- python3 -m openrlhf.cli.train_ppo_ray \\
   --pretrain OpenRLHF/Llama-3-8b-sft-mixture \\
   --reward_pretrain {reward} \\
   --critic_pretrain OpenRLHF/Llama-3-8b-rm-mixture \\
   --micro_train_batch_size 8 --train_batch_size 128 \\
   --bf16 --vllm_num_engines 2 --zero_stage 3
"""


def test_openrlhf_reward_pretrain_equal_to_pretrain_is_an_error_at_the_flag(tmp_path):
    code, found = findings(tmp_path, "train_ppo.sh", PPO.format(reward="OpenRLHF/Llama-3-8b-sft-mixture"))
    assert code == 1
    assert [f for f in found if f[0] == "RM632"] == [(
        "RM632", 6, 4, "the reward model `OpenRLHF/Llama-3-8b-sft-mixture` (--reward_pretrain) is the policy's own "
        "model (--pretrain): loaded as a reward model it gets a new, randomly initialised head, and PPO optimises "
        "against noise")]


def test_openrlhf_reward_pretrain_naming_the_policy_in_other_words(tmp_path):
    text = PPO.format(reward="sft").replace("--pretrain OpenRLHF/Llama-3-8b-sft-mixture", "--pretrain ./sft/")
    code, found = findings(tmp_path, "train_ppo.sh", text)
    assert [(r, line, m.split(":")[0]) for r, line, _, m in found if r == "RM632"] == [
        ("RM632", 6, "the reward model `sft` (--reward_pretrain) is the policy's own model (--pretrain)")]


def test_openrlhf_dotted_generation_names_its_own_flags(tmp_path):
    text = ("python3 -m openrlhf.cli.train_ppo_ray --actor.model_name_or_path Qwen/Qwen2.5-7B-Instruct "
            "--reward.model_name_or_path Qwen/Qwen2.5-7B-Instruct --vllm.num_engines 2\n")
    _, found = findings(tmp_path, "ppo.sh", text)
    assert [(r, m.split(":")[0]) for r, _, _, m in found if r == "RM632"] == [
        ("RM632", "the reward model `Qwen/Qwen2.5-7B-Instruct` (--reward.model_name_or_path) is the policy's own "
                  "model (--actor.model_name_or_path)")]


def test_trl_reward_model_path_equal_to_sft_model_path_is_an_error_at_the_key(tmp_path):
    text = ("model_name_or_path: EleutherAI/pythia-1b-deduped\n"
            "sft_model_path: cleanrl/EleutherAI_pythia-1b-deduped__sft__tldr\n"
            "reward_model_path: cleanrl/EleutherAI_pythia-1b-deduped__sft__tldr\n"
            "output_dir: models/ppo\nnum_ppo_epochs: 1\nper_device_train_batch_size: 8\n")
    code, found = findings(tmp_path, "ppo.yaml", text)
    assert code == 1
    assert [f[:3] for f in found if f[0] == "RM632"] == [("RM632", 3, 1)]
    assert "(reward_model_path) is the policy's own model (sft_model_path)" in found[0][3]


def test_llamafactory_full_reward_model_equal_to_the_base_is_an_error_at_the_key(tmp_path):
    text = ("model_name_or_path: meta-llama/Meta-Llama-3-8B-Instruct\nstage: ppo\nfinetuning_type: lora\n"
            "reward_model: meta-llama/Meta-Llama-3-8B-Instruct\nreward_model_type: full\n")
    code, found = findings(tmp_path, "ppo.yaml", text)
    assert code == 1
    assert [f[:3] for f in found if f[0] == "RM632"] == [("RM632", 4, 1)]
    # a LoRA reward model is an adapter on the policy's base: the same base is what it needs
    _, found = findings(tmp_path, "ppo.yaml", text.replace("reward_model: meta-llama/Meta-Llama-3-8B-Instruct",
                                                           "reward_model: saves/rm").replace("full", "lora"))
    assert [f for f in found if f[0] == "RM632"] == []


@pytest.mark.parametrize("reward,rule,words", [
    ("Ray2333/GRM-Gemma-2B-rewardmodel-ft", "RM633", "is Gemma (from its name) but the policy "
                                                     "`OpenRLHF/Llama-3-8b-sft-mixture` is Llama-3 (from its name)"),
    ("meta-llama/Meta-Llama-3-8B-Instruct", "RM634", "is named like a chat/instruct/base model (`-Instruct`)"),
    ("OpenRLHF/Llama-3-8b-rm-mixture", None, None),
])
def test_family_and_name_evidence(tmp_path, reward, rule, words):
    code, found = findings(tmp_path, "train_ppo.sh", PPO.format(reward=reward))
    ours = [f for f in found if f[0] in ("RM632", "RM633", "RM634")]
    if rule is None:
        assert ours == [] and code == 0
        return
    assert [(r, line) for r, line, _, _ in ours] == [(rule, 6)]
    assert words in ours[0][3]


def test_remote_reward_model_retokenises_so_no_family_error(tmp_path):
    text = PPO.format(reward="x").replace("--reward_pretrain x", "--remote_rm_url http://rm:5000/get_reward")
    _, found = findings(tmp_path, "train_ppo.sh", text.replace("Llama-3-8b-rm-mixture", "Qwen2.5-7B-RM"))
    assert [f for f in found if f[0] in ("RM632", "RM633", "RM634")] == []


def test_family_from_config_json_wins_over_the_name(tmp_path):
    model = tmp_path / "Qwen2.5-7B-reward"          # named Qwen, but its config.json says Llama-3
    model.mkdir()
    (model / "config.json").write_text('{"model_type": "llama", "vocab_size": 128256}')
    text = PPO.format(reward=str(model)).replace("OpenRLHF/Llama-3-8b-sft-mixture", "Qwen/Qwen2.5-7B-Instruct")
    _, found = findings(tmp_path, "train_ppo.sh", text)
    message = next(m for r, _, _, m in found if r == "RM633")
    assert "is Llama-3 (from config.json) but the policy `Qwen/Qwen2.5-7B-Instruct` is Qwen2 (from its name)" \
        in message


@pytest.mark.parametrize("reward,kind,says", [
    (f"{FIXTURES}/hf_seqcls", "lora", "holds a full model, not a LoRA adapter"),
    (f"{FIXTURES}/peft_lora_no_head", "lora", "is an adapter without value_head.safetensors"),
    (f"{FIXTURES}/llamafactory_lora_rm", "full", "is a LoRA adapter folder (no config.json)"),
    ("localhost:8000/score", "api", "is not an http(s) URL"),
    (f"{FIXTURES}/llamafactory_lora_rm", "lora", None),
])
def test_llamafactory_reward_model_type_against_what_the_path_holds(tmp_path, reward, kind, says):
    text = (f"model_name_or_path: m\nstage: ppo\nfinetuning_type: lora\nreward_model: {reward}\n"
            f"reward_model_type: {kind}\n")
    _, found = findings(tmp_path, "ppo.yaml", text)
    ours = [(r, line, m) for r, line, _, m in found if r == "RM635"]
    if says is None:
        assert ours == []
    else:
        assert [(r, line) for r, line, _ in ours] == [("RM635", 4)]
        assert ours[0][2].startswith(f"reward_model_type: {kind}, but `{reward}` {says}")
