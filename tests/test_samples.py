"""Each sample_configs/<case>/ is checked end to end; the text output must equal its expected.txt.
RMLINT_UPDATE_EXPECTED=1 rewrites the files (review the diff before committing)."""

import os

import pytest

from conftest import ROOT, SAMPLES, run_rmlint

CASES = sorted(p.name for p in SAMPLES.iterdir() if p.is_dir())
CLEAN_UPSTREAM = ["openrlhf-v0.5.0-train-rm", "openrlhf-v0.5.0-sft-mixtral-lora", "openrlhf-v0.9.0-ppo-ray",
                  "openrlhf-v0.11.0-train-rm", "accelerate-trl-zero3",
                  "llamafactory-qwen3-lora-reward", "trl-upstream", "axolotl-upstream"]
# openrlhf-v0.11.0-ppo-hybrid-engine passes --reward.normalize_enable, which v0.11.0 with its pinned
# transformers 5.15 breaks (RM623, OpenRLHF PR #1343; shown in test_real_checkpoints.py): its one finding is real.


@pytest.mark.parametrize("case", CASES)
def test_sample_output_is_pinned(case):
    result = run_rmlint("check", f"sample_configs/{case}", env={"NO_COLOR": "1"})
    expected = SAMPLES / case / "expected.txt"
    if os.environ.get("RMLINT_UPDATE_EXPECTED"):
        expected.write_text(result.stdout)
    assert result.stderr == ""
    assert result.stdout == expected.read_text()
    has_errors = any(" error " in line for line in result.stdout.splitlines())
    assert result.returncode == (1 if has_errors else 0)


@pytest.mark.parametrize("case", CLEAN_UPSTREAM)
def test_upstream_examples_are_clean(case):
    result = run_rmlint("check", f"sample_configs/{case}")
    assert result.returncode == 0 and result.stdout.startswith("All checks passed"), result.stdout


def test_every_case_has_expected_output():
    for case in CASES:
        assert (SAMPLES / case / "expected.txt").is_file(), case
    assert (ROOT / "sample_configs").is_dir()
