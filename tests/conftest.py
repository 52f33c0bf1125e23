import os
import subprocess
import sys
from pathlib import Path

import pytest
from click.testing import CliRunner

ROOT = Path(__file__).resolve().parent.parent
SAMPLES = ROOT / "sample_configs"


NO_HF_CACHE = "/nonexistent/rmlint-tests/hf-hub"
FIXTURES = ROOT / "tests" / "fixtures" / "checkpoints"


@pytest.fixture(autouse=True)
def _no_user_cache(tmp_path, monkeypatch):
    """Tests never touch the user's catalog cache, and see an empty Hugging Face cache at a fixed
    place (so pinned output does not depend on the machine)."""
    monkeypatch.setenv("RMLINT_CACHE_DIR", str(tmp_path / "cache"))
    monkeypatch.setenv("HF_HUB_CACHE", NO_HF_CACHE)
    # the library turns exact DeepSpeed validation on when deepspeed is imported; other test modules
    # import it, so it is pinned off here and turned on explicitly where a test is about it
    monkeypatch.setattr("rmlint.frameworks.deepspeed.exact.in_use", lambda: False)
    # the machine rmlint runs on is a fact for argv launches: tests see none unless they set one
    for name in ("CUDA_VISIBLE_DEVICES", "NVIDIA_VISIBLE_DEVICES", "SLURM_GPUS_ON_NODE", "SLURM_GPUS_PER_NODE",
                 "SLURM_STEP_GPUS", "SLURM_JOB_GPUS"):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setattr("rmlint.sources.machine._nvidia_smi", lambda: None)


def cli(*args, input=None):
    from rmlint.cli import main
    return CliRunner().invoke(main, list(args), input=input)


def run_rmlint(*args, cwd=ROOT, input=None, env=None):
    """rmlint in a fresh process, as a user or a pre-commit hook runs it."""
    full_env = {**os.environ, **(env or {})}
    return subprocess.run([sys.executable, "-m", "rmlint", *args], cwd=cwd, input=input,
                          capture_output=True, text=True, timeout=120, env=full_env)


def findings_of_text(name: str, text: str):
    """(rule, line, column) of each finding rmlint reports for a file's text."""
    from rmlint import inputs
    from rmlint.lint import Result, _finish, _policy
    subjects, problems = inputs.subjects_of_text(name, text)
    result = _finish(Result(findings=problems, files=1), subjects, _policy())
    assert result.rule_errors == []
    return [(f.rule, f.line, f.column) for f in result.findings]


def worded(refusal) -> str:
    """A checkpoint reader's refusal (CheckpointError: a kind and its facts) in the words of the rule that lists
    its kind, as a finding shows it."""
    from rmlint.policy import Policy
    global _POLICY
    _POLICY = _POLICY or Policy()
    return _POLICY.word([refusal.reason])


_POLICY = None


def rules_of_command(command: str) -> list:
    return sorted({rule for rule, _, _ in findings_of_text("launch.sh", command + "\n")})


@pytest.fixture(scope="module")
def factory():
    """OpenRLHF's own get_llm_for_sequence_regression, from the 0.11.0 wheel."""
    import upstream
    return upstream.reward_model_factory("0.11.0")


@pytest.fixture(scope="module")
def tiny_llama(tmp_path_factory):
    """A tiny LlamaForCausalLM saved on disk: the SFT model a reward model starts from."""
    import torch
    from transformers import LlamaConfig, LlamaForCausalLM
    torch.manual_seed(0)
    path = tmp_path_factory.mktemp("tiny-llama")
    config = LlamaConfig(hidden_size=64, intermediate_size=128, num_hidden_layers=2, num_attention_heads=4,
                         num_key_value_heads=4, vocab_size=128)
    LlamaForCausalLM(config).save_pretrained(path)
    return str(path)
