"""The hook as pre-commit runs it: `pre-commit try-repo` against this repository, in a fresh git
repository holding a broken and then a fixed DeepSpeed config and launch script."""

import os
import re
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
import yaml

from conftest import ROOT

BAD_CONFIG = '{"train_batch_size": 8, "fp16": {"enabled": true}, "bf16": {"enabled": true}}\n'
GOOD_CONFIG = '{"train_batch_size": 8, "bf16": {"enabled": true}}\n'
BAD_SCRIPT = "#!/bin/bash\ndeepspeed --module openrlhf.cli.train_rm --pretrain m --bf16 --zero_stage 3 --load_in_4bit --lora_rank 8\n"
GOOD_SCRIPT = BAD_SCRIPT.replace("--zero_stage 3 --load_in_4bit --lora_rank 8", "--zero_stage 2")


def test_hook_definition():
    hooks = yaml.safe_load((ROOT / ".pre-commit-hooks.yaml").read_text())
    assert [h["id"] for h in hooks] == ["rmlint"]
    assert hooks[0]["entry"] == "rmlint check --force-exclude" and hooks[0]["language"] == "python"
    assert hooks[0]["types_or"] == ["shell", "json", "yaml"]


def _git(repo: Path, *args):
    subprocess.run(["git", *args], cwd=repo, check=True, capture_output=True)


def _try_repo(repo: Path, home: Path, *extra):
    pre_commit = shutil.which("pre-commit", path=os.path.dirname(sys.executable)) or "pre-commit"
    env = {**os.environ, "PRE_COMMIT_HOME": str(home), "HOME": str(home), "NO_COLOR": "1"}
    return subprocess.run([pre_commit, "try-repo", str(ROOT), "rmlint", "--all-files", "--color", "never", *extra],
                          cwd=repo, capture_output=True, text=True, timeout=900, env=env)


CI_WORKFLOW = """name: ci
on: [push]
jobs:
  test:
    runs-on: ubuntu-latest
    steps:
      - uses: actions/checkout@v4
      - run: pip install . && python -m pytest
"""
PACKAGE_JSON = '{"name": "docs-site", "version": "1.0.0", "scripts": {"build": "vite build"}}\n'
QLORA_ZERO3 = "#!/bin/bash\ndeepspeed --module openrlhf.cli.train_sft --pretrain m --bf16 --zero_stage 3 --load_in_4bit --lora_rank 8\n"


def _tokenizer(path: Path, size: int = 11 * 1000 * 1000):
    """A tokenizer.json as models ship it: one large JSON document (vocabulary and merges)."""
    head = '{"version": "1.0", "truncation": null, "model": {"type": "BPE", "vocab": {'
    entries = ", ".join(f'"tok{i}": {i}' for i in range(size // 14))
    path.write_text(head + entries + "}}}\n")


def test_hook_passes_an_ordinary_training_repository_then_fails_on_qlora_zero3(tmp_path, home):
    """Done when: a tokenizer, a workflow, a package manifest, a clean DeepSpeed config and a clean
    OpenRLHF script pass; a QLoRA + ZeRO-3 script then fails with that finding only. The hook's time (under
    1 s) is a measurement, not a test: `python benchmarks/bench_hook.py`."""
    repo = tmp_path / "project"
    (repo / ".github" / "workflows").mkdir(parents=True)
    (repo / "configs").mkdir()
    _git(repo, "init", "-q")
    _tokenizer(repo / "tokenizer.json")
    assert (repo / "tokenizer.json").stat().st_size > 11_000_000
    (repo / ".github" / "workflows" / "ci.yml").write_text(CI_WORKFLOW)
    (repo / "package.json").write_text(PACKAGE_JSON)
    shutil.copy(ROOT / "sample_configs" / "deepspeed-llamafactory" / "ds_z3_config.json", repo / "configs" / "ds.json")
    shutil.copy(ROOT / "sample_configs" / "openrlhf-v0.11.0-train-rm" / "train_rm.sh", repo / "train_rm.sh")
    _git(repo, "add", ".")
    first = _try_repo(repo, home)                 # installs the hook's environment
    assert first.returncode == 0, first.stdout + first.stderr
    passing = _try_repo(repo, home, "--verbose")
    assert passing.returncode == 0, passing.stdout + passing.stderr
    assert "Passed" in passing.stdout
    (repo / "train_sft_qlora.sh").write_text(QLORA_ZERO3)
    _git(repo, "add", ".")
    failing = _try_repo(repo, home)
    assert failing.returncode == 1, failing.stdout + failing.stderr
    found = re.findall(r"^(\S+?):(\d+):(\d+): (error|warning|info) (RM\d+)", failing.stdout, re.M)
    assert found == [("train_sft_qlora.sh", "2", "63", "error", "RM201")], failing.stdout


@pytest.fixture(scope="module")
def home(tmp_path_factory):
    """One PRE_COMMIT_HOME for the module: the hook's environment is installed once."""
    return tmp_path_factory.mktemp("pre-commit-home")


def test_pre_commit_try_repo_fails_then_passes(tmp_path, home):
    repo = tmp_path / "project"
    repo.mkdir()
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


def test_readme_pre_commit_config_works_at_its_rev(tmp_path, home):
    """The README's .pre-commit-config.yaml, with only the repository URL pointed at this checkout:
    its `rev` is a commit that exists, the hook installs from it and fails a QLoRA + ZeRO-3 script."""
    readme = (ROOT / "README.md").read_text()
    block = re.search(r"### pre-commit\n\n```yaml\n(.*?)```", readme, re.S).group(1)
    config = yaml.safe_load(block)
    rev = config["repos"][0]["rev"]
    assert re.fullmatch(r"[0-9a-f]{40}", rev)
    assert subprocess.run(["git", "cat-file", "-e", f"{rev}^{{commit}}"], cwd=ROOT).returncode == 0
    assert f'pip install "rmlint @ git+https://github.com/<owner>/rmlint@{rev}"' in readme
    config["repos"][0]["repo"] = str(ROOT)
    repo = tmp_path / "project"
    repo.mkdir()
    _git(repo, "init", "-q")
    (repo / ".pre-commit-config.yaml").write_text(yaml.safe_dump(config))
    (repo / "train_sft_qlora.sh").write_text(QLORA_ZERO3)
    (repo / "package.json").write_text(PACKAGE_JSON)
    _git(repo, "add", ".")
    pre_commit = shutil.which("pre-commit", path=os.path.dirname(sys.executable)) or "pre-commit"
    env = {**os.environ, "PRE_COMMIT_HOME": str(home), "HOME": str(home), "NO_COLOR": "1"}
    failing = subprocess.run([pre_commit, "run", "--all-files", "--color", "never"], cwd=repo, capture_output=True,
                             text=True, timeout=900, env=env)
    assert failing.returncode == 1, failing.stdout + failing.stderr
    found = re.findall(r"^(\S+?):(\d+):(\d+): (error|warning|info) (RM\d+)", failing.stdout, re.M)
    assert found == [("train_sft_qlora.sh", "2", "63", "error", "RM201")], failing.stdout
