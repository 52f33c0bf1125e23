"""verl's example scripts and DeepSpeed-Chat's training scripts, as committed upstream: every row of
tests/fixtures/upstream/MANIFEST.tsv for volcengine/verl or microsoft/DeepSpeedExamples (repo, commit,
path, fixture; each text from the code index at that commit; rows of the forks and copies in FORKS count as
verl's, their text being verl's own blob, checked by hash) is linted as a user would, and

- every launch of a verl or DeepSpeed-Chat program in it is understood (JSON `launches[].understood`); the
  launches of other programs are named in NOT_UNDERSTOOD (each with its RM006 info), the scripts that
  launch nothing themselves in NO_LAUNCH;
- its error findings are exactly the ones named below, each table with its evidence: problems the script
  really has at its commit (UPSTREAM_PROBLEMS), keys of commits that never reached verl's history
  (OFF_HISTORY), and rmlint's own known false errors (FALSE_ERRORS, empty).
"""

import re
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
MANIFEST = ROOT / "tests" / "fixtures" / "upstream" / "MANIFEST.tsv"
FRAMEWORKS = {"volcengine/verl": "verl", "microsoft/DeepSpeedExamples": "deepspeed-chat"}
# forks and copies whose stored text of a script the upstream repository's index lacks is byte-for-byte upstream's:
# the text's `git hash-object` equals the blob of that path in the upstream repository's history (checked for each
# row against verl b178a3cd / DeepSpeedExamples 83757d9c; /work/notes/scribe-forks2.md), so their rows count as upstream
FORKS = {"zzqbjt/verl": "volcengine/verl", "zza234s/LocustPrediction": "volcengine/verl", "zzx-peter/verl": "volcengine/verl"}


def _rows() -> list:
    rows = [line.split("\t") for line in MANIFEST.read_text().splitlines()[1:]]
    return [(FORKS.get(repo, repo), commit, path, fixture) for repo, commit, path, fixture in rows
            if FORKS.get(repo, repo) in FRAMEWORKS and fixture.endswith(".sh")]


ROWS = _rows()
FIXTURES = [fixture for *_, fixture in ROWS]
UP = "tests/fixtures/upstream/"
DSCHAT = UP + "deepspeed_chat/training/"
VERL = UP + "verl/"

# launches rmlint reports as not understood (an RM006 info at the line, never silence), by fixture:
# (line, program); each is not a verl/DeepSpeed-Chat trainer, or its program is not beside the fixture
NOT_UNDERSTOOD = {
    # DeepSpeed-Chat's evaluation programs (they compare or score checkpoints; no training)
    DSCHAT + "step1_supervised_finetuning/evaluation_scripts/run_prompt.sh": [(9, "prompt_eval.py")],
    DSCHAT + "step2_reward_model_finetuning/evaluation_scripts/run_eval.sh": [(6, "rw_eval.py")],
    # verl's dataset preparation, run before the verl launch of the same script (which is understood)
    VERL + "gspo_trainer/test_gspo_3b_math.sh": [(105, "examples/data_preprocess/gsm8k.py")],
    VERL + "gspo_trainer/test_gspo_3b_math_slurm.sh": [(109, "examples/data_preprocess/gsm8k.py")],
    # the model conversion the script writes with a heredoc (gpt-oss MXFP4 -> bf16) and runs before the verl launch
    VERL + "grpo_trainer/run_gptoss_20b.sh": [(29, "get_model.py")],
    # sapo's dataset preparation (`python $VERL_REPO_ROOT/examples/data_preprocess/...py`, the path is a variable the
    # script computes with `cd ... && pwd`) and its `python -c "import ray ..."` resource check; the srun'd verl launch is read
    VERL + "sapo_trainer/run_qwen30b_sapo.sh": [(105, ""), (110, ""), (328, "")],
    # the example's own @hydra.main program over verl's configs, main_ppo_split.py, lives beside the script
    # upstream and is not committed here (it is code); in the corpus, with it on disk, the launch is read
    VERL + "split_placement/run_deepseek7b_llm.sh": [(3, "main_ppo_split.py")],
    # DeepSpeedExamples' MII benchmark (no training; its `<placeholder>` values are RM012 warnings)
    UP + "launch_forms/run_aml.sh": [(7, "./run_benchmark.py"), (18, "./src/plot_th_lat.py")],
}

# scripts that launch nothing themselves: DeepSpeed-Chat's sweep drivers run
# `bash training_scripts/opt/single_node/sweep/run_single.sh ...` in a loop (run_single.sh is a fixture here)
NO_LAUNCH = {
    DSCHAT + "step2_reward_model_finetuning/training_scripts/opt/single_node/sweep/run_step2_sweep.sh",
    DSCHAT + "step3_rlhf_finetuning/training_scripts/opt/single_node/sweep/run_step3_sweep.sh",
}

# problems the script really has at its own commit
UPSTREAM_PROBLEMS = {
    # the reward model is deepseek-llm-7b-chat, the policy's own chat model (actor and critic paths): verl
    # loads it with a freshly initialised score head (AutoModelForTokenClassification), so rewards are noise
    VERL + "ppo_trainer/run_deepseek_full_hh_rlhf.sh": [("RM632", 32)],
    # a comment line inside the continued command (line 72) ends it: bash runs line 73 on, the
    # `+...moe_aux_loss_coeff=0.01` override and every `trainer.*` line after it, as a command of its own
    # ("command not found"), so verl trains without them (HEAD b178a3cd has the same lines 73-74)
    VERL + "grpo_trainer/run_qwen3_vl-30b-megatron.sh": [("RM009", 73)],
    # Hydra's own compose of verl's config at the script's commit refuses these ("Could not override ..."):
    # 3d297f72: ppo_megatron_trainer.yaml gives actor, rollout and ref `profile_ranks*` (lines 45-47, 115-116,
    # 147-148) but not critic, so `critic.profile_*` (lines 57-59) stop the launch
    VERL + "ppo_trainer/run_deepseek_math_gsm8k_megatron_nsys.sh": [("RM440", 57), ("RM441", 58), ("RM441", 59)],
    # 9bc2e8e2: `actor.use_gpg_loss` is in ppo_trainer.yaml only (line 193, `fasle`), not ppo_megatron_trainer.yaml
    VERL + "gpg_trainer/run_qwen2-7b_math_megatron.sh": [("RM440", 31)],
    # b5c19ff7: ppo_trainer.yaml line 34 lists `algorithm@@algorithm.rollout_correction` (two `@`): the group is
    # not placed and no algorithm.rollout_correction key exists; main fixed it to `algorithm@algorithm...`
    VERL + "rollout_correction/run_with_rollout_corr.sh": [("RM441", 78), ("RM441", 79)],
    # b19b7490 (HEAD b178a3cd the same): `actor_rollout_ref.model.torch_dtype` is a key of no composed config
    # (`git grep torch_dtype b178a3cd -- verl/trainer/config` finds none; real Hydra on the main config: "Key
    # 'torch_dtype' is not in struct"), so the launch stops before training (issue 16's corpus run names it)
    VERL + "cispo_trainer/run_cispo_qwen2_5_0_5b_gsm8k.sh": [("RM441", 23)],
    # templates shipped with `ACTOR_MODEL_PATH=` and `CRITIC_MODEL_PATH=` (empty, "Provide the ckpt path"): the
    # unquoted empty values vanish, so DeepSpeed-Chat's parse_args stops with "argument
    # --actor_model_name_or_path: expected one argument" (tests/test_real_deepspeed_chat.py runs that parser)
    DSCHAT + "step3_rlhf_finetuning/training_scripts/opt/single_gpu/run_6.7b_lora.sh": [("RM441", 25), ("RM441", 26)],
    DSCHAT + "step3_rlhf_finetuning/training_scripts/opt/single_node/run_1.3b_lora.sh": [("RM441", 25), ("RM441", 26)],
    DSCHAT + "step3_rlhf_finetuning/training_scripts/opt/single_node/run_30b_lora.sh": [("RM441", 26), ("RM441", 27)],
    # `nproc_per_gpu=58nproc_per_gpu=58` (a paste repeated; 70b: `22nproc_per_gpu=22`): bash stops at
    # `total_procs=$(( nproc_per_gpu * ... ))` with "value too great for base", total_procs stays unset, and verl is
    # started with `data.train_batch_size=` empty and the mini/micro batch sizes 0 (tests/test_shell_arithmetic.py
    # shows bash doing so)
    VERL + "tuning/14b/qwen2-14b_grpo-lora_2_h100_fsdp_vllm.sh": [("RM014", 13)],
    VERL + "tuning/70b/qwen2-72b_grpo-lora_8_h100_fsdp_vllm.sh": [("RM014", 13)],
}

# versions the code index holds from commits that are in none of verl's 3,248 refs (branch/PR heads never
# merged): their keys are in no verl release nor main commit, so Hydra refuses them on every verl there is
OFF_HISTORY = {
    # 74061786: `actor.kl_loss.*` and `algorithm.in_reward_kl.*` (`git log --all -S in_reward_kl` in verl:
    # nothing); released verl spells them actor.kl_loss_type/kl_loss_coef and algorithm.kl_ctrl/use_kl_in_reward
    VERL + "ppo_trainer/run_deepseek7b_llm_modelscope.sh": [("RM441", n) for n in (19, 20, 35, 36, 37)],
    VERL + "ppo_trainer/run_deepseek7b_llm_sp2.sh": [("RM441", n) for n in (20, 21, 36, 37, 38)],
    # (and the RM632 of UPSTREAM_PROBLEMS, which holds at its HEAD version too)
    VERL + "ppo_trainer/run_deepseek_full_hh_rlhf.sh": [("RM441", n) for n in (18, 19, 35, 36, 37)],
    # 03c8d552: a top-level `profile.options.*`; main added the NPU profiler as `trainer.npu_profile.options`
    # (8f81d012, #2194) and later `global_profiler`, never `profile`
    VERL + "grpo_trainer/run_qwen2_5_7b_grpo_discrete_prof_npu.sh": [("RM441", n) for n in range(58, 67)],
    VERL + "grpo_trainer/run_qwen2_5_7b_grpo_e2e_prof_npu.sh": [("RM441", n) for n in range(55, 64)],
    # 19abc733: `actor.compute_sum_pi_squared`; the OTB example reached main (67a127b4, #4678) together with
    # the key it uses, `actor.calculate_sum_pi_squared`; `compute_sum_pi_squared` is in no verl commit
    VERL + "otb_trainer/run_qwen2_5-7b.sh": [("RM440", 30)],
    # (02dfc6f2's `algorithm.filter_groups.enable=True` (line 91) was no key of any composed config until
    # verl 0.9.0 added it: with no verl pin it is accepted; tests/test_verl_releases.py judges it by its pin)
}

# rmlint's false errors on these fixtures; none since rmlint/data/verl_config.json also holds verl's main at the
# commits its examples were written between releases (ERAS of tools/snapshot_verl_config.py). Named here when seen.
FALSE_ERRORS: dict = {}


def _result(fixture: str):
    from rmlint.lint import lint_paths
    return lint_paths([str(ROOT / fixture)])


@pytest.mark.parametrize("fixture", FIXTURES)
def test_every_launch_of_the_framework_is_understood(fixture):
    framework = FRAMEWORKS[next(repo for repo, *_, f in ROWS if f == fixture)]
    result = _result(fixture)
    read = [(entry["line"], entry["framework"], entry["reason"]) for entry in result.launches if entry["understood"]]
    unread = [(entry["line"], entry["program"]) for entry in result.launches if not entry["understood"]]
    assert unread == NOT_UNDERSTOOD.get(fixture, [])
    assert [line for line, *_ in unread] == [f.line for f in result.findings if f.rule == "RM006" and f.severity == "info"]
    assert read == [(line, framework, "") for line, *_ in read]
    assert bool(result.launches) == (fixture not in NO_LAUNCH)


@pytest.mark.parametrize("fixture", FIXTURES)
def test_errors_are_only_the_named_ones(fixture):
    result = _result(fixture)
    errors = sorted((f.rule, f.line) for f in result.findings if f.severity == "error")
    named = sorted(UPSTREAM_PROBLEMS.get(fixture, []) + OFF_HISTORY.get(fixture, []) + FALSE_ERRORS.get(fixture, []))
    assert errors == named


# a command that starts a program (after VAR=value words, inside `cmd="..."`): counted from the text alone
COMMAND_START = re.compile(r'^\s*(?:\w+=\S*\s+)*(?:\w+=")?(?:nohup\s+|exec\s+)?(?:python3?|torchrun|deepspeed|ray job submit)\b')


@pytest.mark.parametrize("fixture", FIXTURES)
def test_no_launch_is_dropped_silently(fixture):
    """As many launch records (understood or RM006) as lines that start python/torchrun/deepspeed/ray job submit: a
    second launch rmlint stopped seeing would otherwise pass the test above (review-a)."""
    starts = sum(1 for line in (ROOT / fixture).read_text().splitlines() if COMMAND_START.match(line))
    assert len(_result(fixture).launches) == starts


def test_tables_name_only_committed_fixtures():
    for table in (NOT_UNDERSTOOD, NO_LAUNCH, UPSTREAM_PROBLEMS, OFF_HISTORY, FALSE_ERRORS):
        assert set(table) <= set(FIXTURES)


def test_every_fixture_of_the_two_corpora_has_its_commit_in_the_manifest():
    on_disk = {str(p.relative_to(ROOT)) for folder in ("verl", "deepspeed_chat")
               for p in (ROOT / UP / folder).rglob("*.sh")}
    assert on_disk <= {fixture for _, commit, _, fixture in ROWS if len(commit) == 40}
    assert len({fixture for *_, fixture in ROWS}) == len(ROWS)     # one row a fixture
