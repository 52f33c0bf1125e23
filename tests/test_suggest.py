"""One "did you mean" for every reader (rmlint/suggest.py): the policy, and the real cases it serves,
each as the user sees it."""

import json

import pytest

from conftest import cli
from rmlint.suggest import CERTAIN, SURE, suggest


def test_separators_and_case_alone_are_an_exact_match():
    assert suggest("--micro-train-batch-size", ["--micro_train_batch_size", "--train_batch_size"], CERTAIN) \
        == "--micro_train_batch_size"
    assert suggest("rm201", ["RM201", "RM202", "lora-freezes-value-head"], CERTAIN) == "RM201"   # RM202: 0.8
    assert suggest("rm201x", ["RM201", "RM301x"]) == "RM201"


def test_an_ambiguous_guess_is_no_guess():
    # a hint takes the best unless two tie; a fix needs a lead of 0.05
    assert suggest("--micro_batch_size", ["--micro_train_batch_size", "--micro_rollout_batch_size"]) \
        == "--micro_train_batch_size"                                        # 0.84 against 0.80
    assert suggest("--micro_batch_size", ["--micro_train_batch_size", "--micro_rollout_batch_size"], 0.8) \
        == "--micro_train_batch_size"
    assert suggest("ab_c", ["ab_cx", "ab_cy"]) is None                       # a tie
    assert suggest("learning_rat", ["learning_rate", "learning_rates"], CERTAIN) is None   # 0.96 against 0.92
    assert suggest("learning_rat", ["learning_rate", "warmup_ratio"], CERTAIN) == "learning_rate"


def test_a_long_shared_prefix_still_picks_the_closest():
    # OpenRLHF 0.11.2 renamed --algo.advantage.is_correction_enable to ..._level (test_openrlhf_history);
    # `mode` is 0.88 against `level`'s 0.90
    assert suggest("--algo.advantage.is_correction_enable",
                   ["--algo.advantage.is_correction_mode", "--algo.advantage.is_correction_level",
                    "--algo.advantage.is_correction_gating"]) == "--algo.advantage.is_correction_level"


def test_names_that_fold_alike_are_one_candidate():
    assert suggest("zero_stag", ["zero_stage", "zero-stage"]) == "zero_stage"


def test_the_levels():
    assert suggest("learning_rat", ["learning_rate"], CERTAIN) == "learning_rate"    # 0.96
    assert suggest("lr_rate", ["learning_rate"]) is None                             # 0.6
    assert suggest("per_device_batch", ["per_device_train_batch_size"], SURE) is None   # 0.74
    assert suggest("per_device_batch", ["per_device_train_batch_size"], 0.7) == "per_device_train_batch_size"


CASES = {   # file, text, the finding's (rule, line, column) and the end of its message
    "openrlhf flag": ("train.sh", "deepspeed --module openrlhf.cli.train_rm --pretrain m --bf16 "
                      "--micro-train-batch-size 4 --train_batch_size 32\n",
                      ("RM401", 1, 62), "; did you mean `--micro_train_batch_size`?"),
    "deepspeed key": ("ds_config.json", '{"train_batch_size": 32, "zero_optimization": {"stage": 2, '
                      '"overlap_com": true}}\n', ("RM207", 1, 60), "; did you mean `overlap_comm`?"),
    "verl key": ("verl.sh", "python3 -m verl.trainer.main_ppo actor_rollout_ref.actor.ppo_mini_batchsize=64 "
                 "data.train_batch_size=256 actor_rollout_ref.model.path=m\n",
                 ("RM440", 1, 34), "; did you mean `actor_rollout_ref.actor.ppo_mini_batch_size`?"),
    "llamafactory key": ("rm.yaml", "model_name_or_path: m\nstage: rm\ndo_train: true\nfinetuning_type: lora\n"
                         "dataset: x\ntemplate: llama3\noutput_dir: o\nper_device_train_batchsize: 2\n",
                         ("RM240", 8, 1), "; did you mean `per_device_train_batch_size`?"),
    "accelerate key": ("accelerate.yaml", "compute_environment: LOCAL_MACHINE\ndistributed_type: DEEPSPEED\n"
                       "num_processes: 8\nmixed_precison: bf16\n", ("RM230", 4, 1), "; did you mean `mixed_precision`?"),
}


@pytest.mark.parametrize("case", sorted(CASES))
def test_real_misspellings_get_their_suggestion(tmp_path, case):
    name, text, where, ending = CASES[case]
    (tmp_path / name).write_text(text)
    found = json.loads(cli("check", "--format", "json", str(tmp_path / name)).output)["findings"]
    assert [f["message"][-len(ending):] for f in found if (f["rule"], f["line"], f["column"]) == where] == [ending]


def test_rule_names_and_selectors_in_any_case_or_separator(tmp_path):
    assert "no rule 'lora_freezes_value_head'; did you mean `lora-freezes-value-head`?" in \
        cli("explain", "lora_freezes_value_head").output
    assert "no rule 'rm201x'; did you mean `RM201`?" in cli("explain", "rm201x").output
    (tmp_path / "ds.json").write_text("{}")
    assert "unknown rule selector `lora-freeze-value-head`; did you mean `lora-freezes-value-head`?" in \
        cli("check", "--select", "lora-freeze-value-head", str(tmp_path / "ds.json")).output
