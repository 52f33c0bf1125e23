"""transformers across releases: OpenRLHF's reward model keeps the normalisation statistics of
config.json through from_pretrained with transformers 4 and loses them with transformers 5 (RM623,
OpenRLHF PR #1343). The same OpenRLHF code (the 0.11.0 wheel's model.py) is run in a fresh interpreter
on each release: 5.23.0 is the `test` extra's; 4.57.6 (the last 4.x) is its wheel from the registry,
with the huggingface_hub and tokenizers releases its import-time version check accepts."""

import os
import subprocess
import sys
from pathlib import Path

import pytest

import upstream
from rmlint.config import Settings
from rmlint.lint import lint_paths

TESTS = Path(__file__).resolve().parent
CHECKPOINT = TESTS / "fixtures" / "checkpoints" / "openrlhf_rm_full"   # config.json: mean 0.1234, std 1.5678
TRANSFORMERS_4 = ("transformers==4.57.6", "huggingface_hub==0.36.2", "tokenizers==0.22.2")
LOAD = """
import sys, warnings
warnings.filterwarnings("ignore")
sys.path.insert(0, sys.argv[1])
import torch, transformers, upstream
factory = upstream.reward_model_factory("0.11.0")
for seed in range(3):
    torch.manual_seed(seed)
    model = factory(sys.argv[2], "reward", param_dtype="bf16", attn_implementation="eager", normalize_reward=True)
    print("loaded", transformers.__version__, model.mean.item(), model.std.item())
"""
LAUNCH = ("python3 -m openrlhf.cli.train_ppo_ray --actor.model_name_or_path a --reward.model_name_or_path r \\\n"
          "  --reward.normalize_enable --vllm.num_engines 2\n")


def statistics_after_load(pythonpath: str) -> list:
    env = dict(os.environ, DS_ACCELERATOR="cpu")
    if pythonpath:
        env["PYTHONPATH"] = pythonpath
    done = subprocess.run([sys.executable, "-c", LOAD, str(TESTS), str(CHECKPOINT)], env=env,
                          capture_output=True, text=True, timeout=300)
    assert done.returncode == 0, done.stderr[-2000:]
    return [line.split()[1:] for line in done.stdout.splitlines() if line.startswith("loaded ")]


def bf16(value: float) -> float:
    import torch
    return torch.tensor(value, dtype=torch.bfloat16).item()


def rm623(tmp_path, transformers: str) -> list:
    (tmp_path / ".git").mkdir()
    (tmp_path / "requirements.txt").write_text(f"openrlhf==0.11.0\ntransformers=={transformers}\n")
    (tmp_path / "run.sh").write_text(LAUNCH)
    result = lint_paths([tmp_path / "run.sh"], settings=Settings(installed_versions=False), select=["RM623"])
    return [(f.rule, f.line, f.message.split(": from_pretrained")[0]) for f in result.findings]


@pytest.mark.parametrize("transformers,kept", [("4.57.6", True), ("5.23.0", False)])
def test_rm623_holds_exactly_where_transformers_loses_the_statistics(tmp_path, transformers, kept):
    pythonpath = str(upstream.wheels_tree(*TRANSFORMERS_4)) if transformers.startswith("4.") else ""
    loads = statistics_after_load(pythonpath)
    assert [version for version, _, _ in loads] == [transformers] * 3
    saved = (bf16(0.1234), bf16(1.5678))           # the model is loaded in bf16
    survived = [(float(mean), float(std)) == saved for _, mean, std in loads]
    assert survived == [kept] * 3
    expected = [] if kept else [("RM623", 2, "normalize_reward with OpenRLHF 0.11.0 and transformers 5 (target "
                                 f"transformers: {transformers} ({tmp_path / 'requirements.txt'}:2))")]
    assert rm623(tmp_path, transformers) == expected
