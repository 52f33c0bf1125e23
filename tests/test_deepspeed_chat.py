"""DeepSpeed-Chat launches: `deepspeed main.py --flags` in its step folders, read with the flags of its own
parsers (not as TRL's), the step-2 LoRA head freeze before PR #758, the hybrid engine on Llama-2 under
ZeRO-3, and the DeepSpeed configs it builds. The upstream scripts (tests/fixtures/upstream/deepspeed_chat)
are checked in tests/test_upstream_verl_dschat.py."""

import json

import pytest

from conftest import FIXTURES, ROOT, cli

CHECKOUTS = ROOT / "tests" / "fixtures" / "deepspeed_chat"
STEP2 = "training/step2_reward_model_finetuning/main.py"
STEP3 = "training/step3_rlhf_finetuning/main.py"


def check(tmp_path, text, name="run.sh"):
    script = tmp_path / name
    script.parent.mkdir(parents=True, exist_ok=True)
    script.write_text(text)
    result = cli("check", "--format", "json", str(script))
    return [(f["rule"], f["line"], f["column"], f["message"]) for f in json.loads(result.output)["findings"]]


def rules(tmp_path, text, name="run.sh"):
    return [rule for rule, *_ in check(tmp_path, text, name)]


def test_step3_hybrid_engine_with_zero3_on_llama2_is_reported(tmp_path):
    text = (f"deepspeed --num_gpus 8 {STEP3} \\\n   --actor_model_name_or_path meta-llama/Llama-2-7b-hf \\\n"
            "   --critic_model_name_or_path ./output_step2 \\\n   --actor_zero_stage 3 --critic_zero_stage 3 \\\n"
            "   --enable_hybrid_engine \\\n   --per_device_training_batch_size 4\n")
    assert check(tmp_path, text) == [("RM653", 5, 4, "--enable_hybrid_engine with --actor_zero_stage 3 on a Llama-2 actor "
                                      "(`meta-llama/Llama-2-7b-hf`): the hybrid engine generates empty or repeated tokens, "
                                      "so PPO trains on garbage rollouts")]
    assert rules(tmp_path, text.replace("--actor_zero_stage 3", "--actor_zero_stage 2")) == []
    assert rules(tmp_path, text.replace("meta-llama/Llama-2-7b-hf", "facebook/opt-1.3b")) == []


def test_a_local_llama2_actor_is_known_by_its_config(tmp_path):
    actor = tmp_path / "step1_out"
    actor.mkdir()
    (actor / "config.json").write_text(json.dumps({"model_type": "llama", "vocab_size": 32000}))
    text = f"deepspeed {STEP3} --actor_model_name_or_path {actor} --critic_model_name_or_path c --actor_zero_stage 3 --enable_hybrid_engine\n"
    assert rules(tmp_path, text) == ["RM653"]


def test_step2_only_optimize_lora_by_the_checkout_on_disk(tmp_path):
    flags = "--model_name_or_path facebook/opt-350m --lora_dim 128 --only_optimize_lora --zero_stage 2"
    before = check(tmp_path, f"deepspeed {CHECKOUTS}/before_758/{STEP2} {flags}\n")
    assert [r for r, *_ in before] == ["RM651"]
    assert "predates DeepSpeedExamples 5161c0ff (PR #758, 2023-10-16)" in before[0][3]
    assert rules(tmp_path, f"deepspeed {CHECKOUTS}/after_758/{STEP2} {flags}\n") == []
    # main.py not on this machine: which version runs is not known, so a warning names the versions
    unknown = check(tmp_path, f"deepspeed {STEP2} {flags}\n")
    assert [r for r, *_ in unknown] == ["RM652"] and "DeepSpeedExamples before 5161c0ff" in unknown[0][3]
    assert rules(tmp_path, f"deepspeed {STEP2} {flags.replace(' --only_optimize_lora', '')}\n") == []
    assert rules(tmp_path, f"deepspeed {STEP2} {flags.replace('--lora_dim 128', '--lora_dim 0')}\n") == []


def test_step2_main_py_is_found_from_a_script_in_training_scripts(tmp_path, monkeypatch):
    """The upstream layout: run from the step folder, or a script under training_scripts/<model>/ that runs
    `deepspeed main.py`: main.py is the one in the step folder above it."""
    step = tmp_path / "training" / "step2_reward_model_finetuning"
    (step / "training_scripts" / "opt").mkdir(parents=True)
    (step / "main.py").write_text((CHECKOUTS / "before_758" / STEP2).read_text())
    script = "deepspeed main.py --model_name_or_path m --lora_dim 8 --only_optimize_lora\n"
    assert rules(tmp_path, script, "training/step2_reward_model_finetuning/training_scripts/opt/run.sh") == ["RM651"]
    monkeypatch.chdir(step)
    assert rules(tmp_path, script, "elsewhere/run.sh") == ["RM651"]     # recognised by main.py's source


def test_main_py_of_another_project_is_not_deepspeed_chat(tmp_path):
    """The 22 false errors DeepSpeed-Chat's scripts had came from reading them as TRL; a main.py with no
    evidence of DeepSpeed-Chat is no framework's: listed as not understood (RM006), never read as TRL's."""
    text = "deepspeed main.py --model_name_or_path m --per_device_train_batch_sise 8\n"
    assert rules(tmp_path, text) == ["RM006"]
    assert rules(tmp_path, text, "training/step2_reward_model_finetuning/run.sh") == ["RM440"]


def test_flags_as_its_argparse_reads_them(tmp_path):
    base = f"deepspeed {STEP2} --model_name_or_path m "
    found = check(tmp_path, base + "--per_device_train_batch_sise 8\n")
    assert [(r, m) for r, _, _, m in found] == [
        ("RM440", "DeepSpeed-Chat refuses `--per_device_train_batch_sise` (unrecognized arguments: "
                  "--per_device_train_batch_sise); did you mean `--per_device_train_batch_size`?")]
    assert rules(tmp_path, base + "--per_device_train 8 --zero 2 --gradient_acc 4\n") == []          # unique prefixes
    assert [m for _, _, _, m in check(tmp_path, base + "--grad 4\n")] == [
        "DeepSpeed-Chat refuses `--grad` (ambiguous option: --grad could match --gradient_accumulation_steps, "
        "--gradient_checkpointing)"]
    assert [m for _, _, _, m in check(tmp_path, base + "--zero_stage three\n")] == [
        "DeepSpeed-Chat refuses `--zero_stage` (argument --zero_stage: invalid int value: 'three')"]
    # flags of older releases are still known (step 3 of May 2023: --per_device_mini_train_batch_size)
    models = "--actor_model_name_or_path a --critic_model_name_or_path c"
    assert rules(tmp_path, f"deepspeed {STEP3} {models} --per_device_mini_train_batch_size 4 --generation_batch_numbers 1\n") == []


def test_a_flag_the_parser_requires_is_missing(tmp_path):
    # argparse's last check (`required=True`): step 3 requires both model paths, the other steps the model's
    # (reported at the main.py word, column 11: the launch, not a flag, lacks it)
    found = check(tmp_path, f"deepspeed {STEP3} --actor_model_name_or_path a --per_device_training_batch_size 4\n")
    assert [(r, line, col, m) for r, line, col, m in found] == [
        ("RM441", 1, 11, "DeepSpeed-Chat refuses `--critic_model_name_or_path` (the following arguments are required: "
                        "--critic_model_name_or_path)")]
    assert [m for *_, m in check(tmp_path, f"deepspeed {STEP2} --zero_stage 2\n")] == [
        "DeepSpeed-Chat refuses `--model_name_or_path` (the following arguments are required: --model_name_or_path)"]
    # a word that may hold more flags (`$@`) may hold them; a refusal before it is argparse's only error
    assert rules(tmp_path, f'deepspeed {STEP2} --zero_stage 2 "$@"\n') == []
    assert rules(tmp_path, f"deepspeed {STEP2} --zero_stage two\n") == ["RM441"]


def test_parse_args_own_checks(tmp_path):
    base = f"deepspeed {STEP3} --actor_model_name_or_path facebook/opt-1.3b --critic_model_name_or_path c "
    assert rules(tmp_path, base + "--actor_zero_stage 2 --enable_hybrid_engine --inference_tp_size 2\n") == ["RM316"]
    assert rules(tmp_path, base + "--actor_zero_stage 2 --critic_zero_stage 2 --enable_hybrid_engine --offload\n") == ["RM317"]
    assert rules(tmp_path, base + "--actor_zero_stage 2 --critic_zero_stage 2 --enable_hybrid_engine --offload "
                                  "--actor_lora_dim 64\n") == []


def test_deepspeed_configs_as_ds_utils_builds_them(tmp_path):
    """--offload at ZeRO stage 0 puts the optimizer on the CPU, which DeepSpeed refuses below stage 1."""
    found = check(tmp_path, f"deepspeed --num_gpus 2 {STEP2} --model_name_or_path m --zero_stage 0 --offload\n")
    assert [(r, c) for r, _, c, _ in found] == [("RM204", 109)]       # at --offload
    assert rules(tmp_path, f"deepspeed --num_gpus 2 {STEP2} --model_name_or_path m --zero_stage 2 --offload --dtype bf16\n") == []


def test_step3_critic_that_is_not_a_step2_output(tmp_path):
    text = f"deepspeed {STEP3} --actor_model_name_or_path facebook/opt-1.3b --critic_model_name_or_path {{}} --actor_zero_stage 2\n"
    assert rules(tmp_path, text.format(FIXTURES / "base_sft")) == ["RM631"]
    assert rules(tmp_path, text.format(FIXTURES / "hf_seqcls")) == []
    # step 3 loads the reward model from the critic's path too: the actor's own model is no reward model
    assert rules(tmp_path, text.format("facebook/opt-1.3b")) == ["RM632"]
