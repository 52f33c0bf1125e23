"""The hook as pre-commit runs it: `pre-commit try-repo` against this repository, in a fresh git
repository holding a broken and then a fixed DeepSpeed config and launch script."""

import os
import shutil
import subprocess
import sys
from pathlib import Path

import yaml

from conftest import ROOT

BAD_CONFIG = '{"train_batch_size": 8, "fp16": {"enabled": true}, "bf16": {"enabled": true}}\n'
GOOD_CONFIG = '{"train_batch_size": 8, "bf16": {"enabled": true}}\n'
BAD_SCRIPT = "#!/bin/bash\ndeepspeed --module openrlhf.cli.train_rm --pretrain m --bf16 --zero_stage 3 --load_in_4bit --lora_rank 8\n"
GOOD_SCRIPT = BAD_SCRIPT.replace("--zero_stage 3 --load_in_4bit --lora_rank 8", "--zero_stage 2")


def test_hook_definition():
    hooks = yaml.safe_load((ROOT / ".pre-commit-hooks.yaml").read_text())
    assert [h["id"] for h in hooks] == ["rmlint"]
    assert hooks[0]["entry"] == "rmlint check" and hooks[0]["language"] == "python"
    assert hooks[0]["types_or"] == ["shell", "json", "yaml"]


def _git(repo: Path, *args):
    subprocess.run(["git", *args], cwd=repo, check=True, capture_output=True)


def _try_repo(repo: Path, home: Path):
    pre_commit = shutil.which("pre-commit", path=os.path.dirname(sys.executable)) or "pre-commit"
    env = {**os.environ, "PRE_COMMIT_HOME": str(home), "HOME": str(home), "NO_COLOR": "1"}
    return subprocess.run([pre_commit, "try-repo", str(ROOT), "rmlint", "--all-files", "--color", "never"],
                          cwd=repo, capture_output=True, text=True, timeout=900, env=env)


def test_pre_commit_try_repo_fails_then_passes(tmp_path):
    repo, home = tmp_path / "project", tmp_path / "home"
    repo.mkdir()
    home.mkdir()
    _git(repo, "init", "-q")
    (repo / "ds_config.json").write_text(BAD_CONFIG)
    (repo / "train_rm.sh").write_text(BAD_SCRIPT)
    (repo / "README.md").write_text("not checked\n")
    _git(repo, "add", ".")
    failing = _try_repo(repo, home)
    assert failing.returncode == 1, failing.stdout + failing.stderr
    assert "rmlint" in failing.stdout and "Failed" in failing.stdout
    assert "ds_config.json:1:61: error RM101" in failing.stdout
    assert "train_rm.sh:2:62: error RM201" in failing.stdout
    (repo / "ds_config.json").write_text(GOOD_CONFIG)
    (repo / "train_rm.sh").write_text(GOOD_SCRIPT)
    _git(repo, "add", ".")
    passing = _try_repo(repo, home)
    assert passing.returncode == 0, passing.stdout + passing.stderr
    assert "Passed" in passing.stdout
