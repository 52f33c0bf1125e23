"""The batch rules (RM301, RM302) against the real thing: OpenRLHF's own DeepspeedStrategy (0.11.0 for
a launch with its flags, 0.9.1 for one with the flat flags of before 0.10.2) builds the DeepSpeed config (train_batch_size x ring_attn_size x tensor_parallel_size) and DeepSpeed's
own DeepSpeedConfig runs its batch assertion on it with the launch's GPU count as the world size.
rmlint reports RM301 exactly when DeepSpeed refuses, RM302 exactly when it refuses even on one GPU,
and the numbers in the messages are the ones OpenRLHF and DeepSpeed compute."""

import random
import re

import pytest

import upstream
from rmlint import lint_paths



def _cases() -> list:
    pick = random.Random(15)
    cases = [dict(batch=30, micro=4, ring=2, tp=2, gpus=8), dict(batch=8, micro=1, ring=2, tp=2, gpus=8),
             dict(batch=16, micro=4, ring=1, tp=4, gpus=16), dict(batch=3, micro=4, ring=1, tp=1, gpus=1),
             dict(batch=32, micro=4, ring=1, tp=1, gpus=16), dict(batch=12, micro=3, ring=4, tp=1, gpus=4)]
    cases += [dict(batch=32, micro=0, ring=1, tp=1, gpus=8), dict(batch=32, micro=-4, ring=1, tp=1, gpus=8),
              dict(batch=-32, micro=4, ring=1, tp=1, gpus=8), dict(batch=0, micro=4, ring=1, tp=1, gpus=8),
              dict(batch=32, micro=4, ring=-1, tp=1, gpus=8), dict(batch=32, micro=4, ring=1, tp=0, gpus=8),
              dict(batch=32, micro=4, ring=0, tp=1, gpus=1)]   # sizes argparse takes and DeepSpeed refuses
    while len(cases) < 120:
        cases.append(dict(batch=pick.choice([1, 2, 3, 4, 6, 8, 12, 16, 24, 30, 32, 48, 64, 96, 128, 256]),
                          micro=pick.choice([1, 2, 3, 4, 8, 16]), ring=pick.choice([1, 1, 2, 4, 8]),
                          tp=pick.choice([1, 1, 2, 4]), gpus=pick.choice([1, 2, 4, 6, 8, 16, 32])))
    return cases


CASES = _cases()


@pytest.fixture(scope="module")
def verdicts():
    """For each release, for each case: (batch DeepSpeed gets, refusal at the case's GPUs, refusal on one GPU)."""
    on_one = [dict(case, gpus=1) for case in CASES]
    answers = upstream.strategy_verdicts({release: CASES + on_one for release in set(RELEASE.values())})
    return {release: [(results[i][0], results[i][1], results[len(CASES) + i][1]) for i in range(len(CASES))]
            for release, results in answers.items()}


RELEASE = {"0.11.0 flags": "0.11.0", "before 0.10.2": "0.9.1"}
LAUNCHES = {
    "0.11.0 flags": ("--ds.param_dtype bf16 --train.batch_size {batch} --train.micro_batch_size {micro} "
                     "--ds.ring_attn_size {ring} --ds.tensor_parallel_size {tp} --ds.packing_samples"),
    "before 0.10.2": ("--bf16 --train_batch_size {batch} --micro_train_batch_size {micro} --ring_attn_size {ring} "
                      "--ds_tensor_parallel_size {tp} --packing_samples"),
}


def _batch_findings(tmp_path, case: dict, spelling: str) -> dict:
    path = tmp_path / "train_rm.sh"
    path.write_text(f"deepspeed --num_gpus {case['gpus']} --module openrlhf.cli.train_rm --pretrain m "
                    + LAUNCHES[spelling].format(**case) + "\n")
    return {f.rule: f.message for f in lint_paths([str(path)], select=["RM301", "RM302"]).findings}


def _accumulation(refusal: str) -> int:
    """The accumulation steps DeepSpeed computed, from its own assertion message."""
    if "Gradient accumulation steps: 0" in refusal:
        return 0
    return int(re.search(r"!= \d+ \* (\d+) \* \d+", refusal).group(1))


@pytest.mark.parametrize("spelling", sorted(LAUNCHES))
def test_rm301_and_rm302_appear_exactly_when_openrlhf_and_deepspeed_refuse(tmp_path, verdicts, spelling):
    refused_cases = 0
    for case, (handed, refusal, refusal_on_one) in zip(CASES, verdicts[RELEASE[spelling]]):
        found = _batch_findings(tmp_path, case, spelling)
        assert ("RM301" in found) == (refusal is not None), (case, refusal, found)
        if min(case.values()) > 0:   # a batch of 0 or less: RM301 says so, whatever the GPUs
            assert ("RM302" in found) == (refusal_on_one is not None), (case, refusal_on_one, found)
        if refusal and case["micro"] > 0 and handed > 0:
            refused_cases += 1
            assert found["RM301"].startswith(
                f"train batch {handed} is not a multiple of micro batch {case['micro']} x {case['gpus']} GPUs "
                f"of the reward model (train_rm) (DeepSpeed would use {_accumulation(refusal)} accumulation steps; "
                f"{case['gpus']} GPUs from --num_gpus {case['gpus']})"), (case, refusal, found)
        if "RM302" in found:
            assert found["RM302"] == (f"train batch {handed} is not a multiple of micro batch {case['micro']}, "
                                      "on any number of GPUs")
    assert 20 < refused_cases < len(CASES) - 20   # the cases cover both sides


@pytest.mark.parametrize("release", sorted(set(RELEASE.values())))
def test_the_batch_openrlhf_hands_deepspeed_carries_both_factors(verdicts, release):
    """What the tensor-parallel and ring-attention factors do, seen in OpenRLHF's own config."""
    for case, (handed, _, _) in zip(CASES, verdicts[release]):
        assert handed == case["batch"] * case["ring"] * case["tp"]


def test_rm302_is_at_the_train_batch_flag_with_its_numbers_in_order(tmp_path):
    path = tmp_path / "train_rm.sh"
    path.write_text("deepspeed --module openrlhf.cli.train_rm --pretrain m --bf16 \\\n"
                    "   --micro_train_batch_size 8 --ring_attn_size 2 --packing_samples \\\n"
                    "   --train_batch_size 30\n")
    found = [(f.rule, f.line, f.column, f.message) for f in lint_paths([str(path)], select=["RM302"]).findings]
    assert found == [("RM302", 3, 4, "train batch 60 is not a multiple of micro batch 8, on any number of GPUs")]
