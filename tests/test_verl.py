"""verl launches: Hydra overrides read against verl's composed configs, the batch checks verl makes once
the GPUs are allocated, and the reward model; upstream example scripts (tests/fixtures/upstream/verl,
commits in tests/fixtures/upstream/MANIFEST.tsv) are read and clean."""

import json
import os

import pytest

from conftest import FIXTURES, ROOT, cli

UPSTREAM = ROOT / "tests" / "fixtures" / "upstream" / "verl"
GRPO = ("python3 -m verl.trainer.main_ppo \\\n"
        "    algorithm.adv_estimator=grpo \\\n"
        "    actor_rollout_ref.model.path=Qwen/Qwen2-7B-Instruct \\\n"
        "    actor_rollout_ref.actor.ppo_micro_batch_size_per_gpu=4 \\\n"
        "    actor_rollout_ref.rollout.log_prob_micro_batch_size_per_gpu=4 \\\n"
        "    actor_rollout_ref.rollout.n=8 \\\n"
        "    trainer.n_gpus_per_node=8 trainer.nnodes=1 \\\n")


def check(tmp_path, text, name="run.sh"):
    script = tmp_path / name
    script.write_text(text)
    result = cli("check", "--format", "json", str(script))
    return [(f["rule"], f["line"], f["column"], f["message"]) for f in json.loads(result.output)["findings"]], result


def rules(tmp_path, text):
    return [(rule, line) for rule, line, _, _ in check(tmp_path, text)[0]]


def test_grpo_train_batch_below_mini_batch_is_an_error_at_the_override(tmp_path):
    found, result = check(tmp_path, GRPO + "    data.train_batch_size=16 \\\n"
                                           "    actor_rollout_ref.actor.ppo_mini_batch_size=32\n")
    assert found == [("RM310", 9, 5, 'data.train_batch_size 16 is smaller than `actor_rollout_ref.actor.ppo_mini_batch_size` '
                                     '32: verl stops with "train_batch_size (16) must be >= ... ppo_mini_batch_size (32)"; '
                                     "smallest fix: actor_rollout_ref.actor.ppo_mini_batch_size=16")]
    assert result.exit_code == 1
    fixed = GRPO + "    data.train_batch_size=16 \\\n    actor_rollout_ref.actor.ppo_mini_batch_size=16\n"
    assert check(tmp_path, fixed)[0] == []


def test_misspelled_key_is_refused_as_hydra_does_with_did_you_mean(tmp_path):
    found, _ = check(tmp_path, GRPO + "    data.train_batch_size=64 \\\n"
                                      "    actor_rollout_ref.actor.ppo_mini_batchsize=32\n")
    assert found == [("RM440", 9, 5, "verl refuses `actor_rollout_ref.actor.ppo_mini_batchsize` (Key 'ppo_mini_batchsize' "
                                     "is not in struct); did you mean `actor_rollout_ref.actor.ppo_mini_batch_size`?")]


def test_reward_model_equal_to_the_policy_is_an_error(tmp_path):
    found, _ = check(tmp_path, GRPO + "    data.train_batch_size=64 actor_rollout_ref.actor.ppo_mini_batch_size=32 \\\n"
                                      "    reward_model.enable=True reward_model.micro_batch_size_per_gpu=4 \\\n"
                                      "    reward_model.model.path=Qwen/Qwen2-7B-Instruct/\n")
    assert [(r, line, col) for r, line, col, _ in found] == [("RM632", 10, 5)]      # the rule every framework shares
    assert found[0][3].startswith("the reward model `Qwen/Qwen2-7B-Instruct/` (reward_model.model.path) is the "
                                  "policy's own model (actor_rollout_ref.model.path)")


def test_a_reward_model_of_another_family_is_fine_and_a_local_one_is_read(tmp_path):
    other = GRPO + ("    data.train_batch_size=64 actor_rollout_ref.actor.ppo_mini_batch_size=32 \\\n"
                    "    reward_model.enable=True reward_model.micro_batch_size_per_gpu=4 \\\n"
                    "    reward_model.model.input_tokenizer=Qwen/Qwen2-7B-Instruct \\\n"
                    "    reward_model.model.path={}\n")
    assert rules(tmp_path, other.format(FIXTURES / "hf_seqcls")) == []
    skywork = other.format("Skywork/Skywork-Reward-Llama-3.1-8B")      # verl re-tokenises: another family is fine
    assert rules(tmp_path, skywork) == []
    # ... unless the legacy worker is told to feed the policy's token ids as they are
    legacy = skywork.replace("reward_model.model.input_tokenizer=Qwen/Qwen2-7B-Instruct",
                             "reward_model.model.input_tokenizer=null reward_model.use_reward_loop=False")
    assert rules(tmp_path, legacy) == [("RM633", 11)]
    assert rules(tmp_path, other.format(FIXTURES / "base_sft")) == [("RM631", 11)]   # a causal LM: no head
    # a script that ends in `$@` and writes no input_tokenizer keeps verl's default (re-tokenise):
    # extra arguments could change it, but what the script runs is fine (verl's ppo examples end so)
    unwritten = skywork.replace("reward_model.model.input_tokenizer=Qwen/Qwen2-7B-Instruct \\\n",
                                "").replace("Llama-3.1-8B\n", "Llama-3.1-8B $@\n")
    assert "$@" in unwritten and "input_tokenizer" not in unwritten
    assert rules(tmp_path, unwritten) == []


@pytest.mark.parametrize("overrides, expected", [
    # Hydra's prefixes: `+` adds a key that is absent (or null), `++` always sets, `~` deletes an existing key
    ("+actor_rollout_ref.actor.ppo_mini_batch_size=32", [("RM441", "Could not append to config. An item is already "
                                                                   "at 'actor_rollout_ref.actor.ppo_mini_batch_size'")]),
    ("++actor_rollout_ref.actor.ppo_mini_batch_size=32", []),
    ("+actor_rollout_ref.model.override_config.attention_dropout=0.0", []),
    ("actor_rollout_ref.model.override_config.attention_dropout=0.0", [("RM441", "Key 'attention_dropout' is not in struct")]),
    ("+reward_model.micro_batch_size=2", []),                              # null in the config: `+` may set it
    ("~actor_rollout_ref.model.no_such_key", [("RM441", "Could not delete from config. "
                                                        "'actor_rollout_ref.model.no_such_key' does not exist")]),
    ("~trainer.val_before_train", []),
    ("actor@actor_rollout_ref.actor=megatron_actor hydra.run.dir=/tmp/x", []),   # a group choice, Hydra's own keys
    ("trainer.logger='[\"console\",\"wandb\"]' data.train_files=\"['a', 'b']\" +data.x={a:1}", []),
])
def test_hydra_prefixes_as_hydra_decides(tmp_path, overrides, expected):
    found, _ = check(tmp_path, GRPO + f"    data.train_batch_size=64 actor_rollout_ref.actor.ppo_mini_batch_size=32 {overrides}\n")
    assert [(rule, message.split("(", 1)[1].rsplit(")", 1)[0]) for rule, _, _, message in found] == expected


def test_batch_checks_with_their_smallest_fix(tmp_path):
    def one(text):
        found = check(tmp_path, "python3 -m verl.trainer.main_ppo algorithm.adv_estimator=grpo "
                                "actor_rollout_ref.rollout.log_prob_micro_batch_size_per_gpu=4 " + text + "\n")[0]
        return [(rule, message.rsplit("smallest fix: ", 1)[-1]) for rule, _, _, message in found]
    assert one("data.train_batch_size=60 actor_rollout_ref.actor.ppo_mini_batch_size=60 "
               "actor_rollout_ref.actor.ppo_micro_batch_size_per_gpu=1") == [("RM311", "data.train_batch_size=64")]
    assert one("data.train_batch_size=10 actor_rollout_ref.rollout.n=6 actor_rollout_ref.actor.ppo_mini_batch_size=8 "
               "actor_rollout_ref.actor.ppo_micro_batch_size_per_gpu=1") == [("RM311", "data.train_batch_size=12")]   # 12 × 6 = 72 = 9 × 8
    assert one("data.train_batch_size=64 actor_rollout_ref.actor.ppo_mini_batch_size=4 "
               "actor_rollout_ref.actor.ppo_micro_batch_size_per_gpu=1") == [("RM312", "actor_rollout_ref.actor.ppo_mini_batch_size=8")]
    assert one("data.train_batch_size=64 actor_rollout_ref.actor.ppo_mini_batch_size=48 "
               "actor_rollout_ref.actor.ppo_micro_batch_size_per_gpu=4") == [("RM313", "actor_rollout_ref.actor.ppo_mini_batch_size=64")]
    # Ulysses sequence parallelism divides the data-parallel size: 8 GPUs / 2 = 4 ranks, 48 / 4 = 12 per rank
    assert one("data.train_batch_size=64 actor_rollout_ref.actor.ppo_mini_batch_size=48 "
               "actor_rollout_ref.actor.ulysses_sequence_parallel_size=2 "
               "actor_rollout_ref.actor.ppo_micro_batch_size_per_gpu=4") == []
    assert one("data.train_batch_size=64 actor_rollout_ref.actor.ppo_mini_batch_size=64") == [
        ("RM314", '[actor_rollout_ref.actor] neither `actor_rollout_ref.actor.ppo_micro_batch_size` nor '
                  '`actor_rollout_ref.actor.ppo_micro_batch_size_per_gpu` is set: verl stops with "Please set at least one of ..."')]
    assert [rule for rule, _ in one("data.train_batch_size=64 actor_rollout_ref.actor.ppo_mini_batch_size=64 "
                                    "actor_rollout_ref.actor.ppo_micro_batch_size=8 "
                                    "actor_rollout_ref.actor.ppo_micro_batch_size_per_gpu=1")] == ["RM315"]
    # dynamic batch sizes skip them all, as verl does
    assert one("data.train_batch_size=60 actor_rollout_ref.actor.use_dynamic_bsz=True "
               "actor_rollout_ref.actor.ppo_mini_batch_size=64") == []


def test_the_critic_is_checked_when_gae_needs_one(tmp_path):
    base = ("python3 -m verl.trainer.main_ppo algorithm.adv_estimator=gae data.train_batch_size=64 "
            "actor_rollout_ref.actor.ppo_mini_batch_size=64 actor_rollout_ref.actor.ppo_micro_batch_size_per_gpu=8 "
            "actor_rollout_ref.rollout.log_prob_micro_batch_size_per_gpu=8 {}\n")
    assert [r for r, _ in rules(tmp_path, base.format("critic.ppo_micro_batch_size_per_gpu=8"))] == []
    assert [r for r, _ in rules(tmp_path, base.format(""))] == ["RM314"]
    assert [r for r, _ in rules(tmp_path, base.format("critic.ppo_micro_batch_size_per_gpu=8 "
                                                       "critic.ppo_mini_batch_size=128"))] == ["RM310"]


def test_unreadable_words_keep_the_defaults_unknown(tmp_path):
    """`$@` may set any key: the defaults it could override are not judged; what is written still is."""
    assert rules(tmp_path, "python3 -m verl.trainer.main_ppo data.train_batch_size=64 $@\n") == []
    assert rules(tmp_path, "python3 -m verl.trainer.main_ppo data.train_batch_sise=64 $@\n") == [("RM440", 1)]
    assert rules(tmp_path, "python3 -m verl.trainer.main_ppo actor_rollout_ref.actor.ppo_mini_batch_size=$MINI "
                           "data.train_batch_size=16\n") == [("RM314", 1)] * 3   # actor, rollout and (gae by default) critic


def test_launchers_and_entrypoints(tmp_path):
    ray = ("ray job submit --address=http://127.0.0.1:8265 --runtime-env=verl/trainer/runtime_env.yaml -- "
           "python3 -m verl.trainer.main_ppo data.train_batch_size=16 actor_rollout_ref.actor.ppo_mini_batchsize=8\n")
    assert rules(tmp_path, ray) == [("RM440", 1)]
    sft = "torchrun --nproc_per_node=2 -m verl.trainer.fsdp_sft_trainer data.micro_batch_size_per_gpu=4 model.lora_rnk=8\n"
    assert [(r, m) for r, _, _, m in check(tmp_path, sft)[0]] == [
        ("RM440", "verl refuses `model.lora_rnk` (Key 'lora_rnk' is not in struct); did you mean `model.lora_rank`?")]
    megatron = ("python3 -m verl.trainer.main_ppo --config-path=config --config-name='ppo_megatron_trainer.yaml' "
                "actor_rollout_ref.actor.megatron.tensor_model_parallel_size=2 actor_rollout_ref.actor.megatron.banana=2\n")
    assert rules(tmp_path, megatron) == [("RM441", 1)]
    assert rules(tmp_path, megatron.replace("ppo_megatron_trainer", "ppo_trainer")) == [("RM441", 1), ("RM441", 1)]


def test_a_config_of_ones_own_adds_its_keys(tmp_path):
    (tmp_path / "config").mkdir()
    (tmp_path / "config" / "my_grpo.yaml").write_text(
        "hydra:\n  searchpath:\n    - file://verl/trainer/config\ndefaults:\n  - ppo_trainer\n  - _self_\n"
        "actor_rollout_ref:\n  rollout:\n    my_plugin:\n      depth: 2\n")
    text = ("python3 -m verl.trainer.main_ppo --config-path={}/config --config-name=my_grpo "
            "actor_rollout_ref.rollout.my_plugin.depth=3 actor_rollout_ref.rollout.my_plugin.width=3\n")
    assert [(r, m.split("(")[1]) for r, _, _, m in check(tmp_path, text.format(tmp_path))[0]] == [
        ("RM441", "Key 'width' is not in struct)")]
    # a config folder rmlint cannot see: keys are not judged at all
    assert rules(tmp_path, text.format("$CONFIG_DIR")) == []


def test_a_script_of_ones_own_running_hydra_over_verl(tmp_path):
    (tmp_path / "config").mkdir()
    (tmp_path / "config" / "split.yaml").write_text("defaults:\n  - ppo_trainer\n  - _self_\ndata:\n  tokenizer: null\n")
    (tmp_path / "main_split.py").write_text(
        "import hydra\nfrom verl.trainer.ppo.ray_trainer import RayPPOTrainer\n\n"
        "@hydra.main(config_path='config', config_name='split', version_base=None)\ndef main(config):\n    pass\n")
    here = os.getcwd()
    os.chdir(tmp_path)
    try:
        assert rules(tmp_path, "python3 main_split.py data.tokenizer=x data.tokeniser=y\n") == [("RM440", 1)]
    finally:
        os.chdir(here)


def test_if_else_branches_leave_a_variable_unknown(tmp_path):
    """verl's gspo example picks the config name and megatron/fsdp overrides in an if/else: neither is assumed."""
    text = ('if [[ $backend == "megatron" ]]; then\n    CONFIG_NAME=ppo_megatron_trainer\n'
            '    EXTRA="actor_rollout_ref.actor.megatron.param_offload=True"\nelse\n    CONFIG_NAME=ppo_trainer\n'
            '    EXTRA="actor_rollout_ref.actor.fsdp_config.param_offload=True"\nfi\n'
            "python3 -m verl.trainer.main_ppo --config-name=$CONFIG_NAME $EXTRA data.train_batch_size=64\n")
    assert rules(tmp_path, text) == []
    same = "if [ -z $X ]; then\n  NAME=ppo_trainer\nelse\n  NAME=ppo_trainer\nfi\n" \
           "python3 -m verl.trainer.main_ppo --config-name=$NAME actor_rollout_ref.actor.megatron.param_offload=True\n"
    assert rules(tmp_path, same) == [("RM441", 6)]


UPSTREAM_EXPECTED = {     # every upstream fixture is read as a verl launch; none has a problem
    "run_qwen2-7b.sh": [], "run_mistral13b_skyworkrm_hhrlhf.sh": [], "run_qwen2-7b_rm_legacy.sh": [],
    "run_qwen_05_peft.sh": [], "run_qwen3_vl_2b.sh": []}


@pytest.mark.parametrize("name", sorted(UPSTREAM_EXPECTED))
def test_upstream_examples_are_read_and_clean(name):
    from rmlint import inputs
    found, problems = inputs.subjects_of_file(str(UPSTREAM / name))
    assert [s.facts["trainer"]["framework"] for s in found if s.kind == "trainer"] == ["verl"]
    result = cli("check", "--format", "json", str(UPSTREAM / name))
    assert [f["rule"] for f in json.loads(result.output)["findings"]] == UPSTREAM_EXPECTED[name]
    assert problems == []


def test_manifest_names_every_upstream_fixture():
    rows = [line.split("\t") for line in (ROOT / "tests/fixtures/upstream/MANIFEST.tsv").read_text().splitlines()[1:]]
    listed = {fixture for _, commit, _, fixture in rows if len(commit) == 40}
    on_disk = {str(p.relative_to(ROOT)) for p in UPSTREAM.parent.rglob("*.sh")}
    assert on_disk <= listed
