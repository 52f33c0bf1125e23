"""How long the pre-commit hook takes once its environment exists, on an ordinary training repository (an
11 MB tokenizer.json, a CI workflow, a package manifest, a clean DeepSpeed config and a clean OpenRLHF
script): the figure pre-commit itself prints with `--verbose` ("- duration: 0.42s").

Usage: python benchmarks/bench_hook.py [--runs 9] [--bound 1.0]

The first `pre-commit try-repo` installs the hook's environment and is not counted; the median of the
next runs is printed, and the exit code is 1 when it is over `--bound` seconds (the pre-commit issue's
bar: under 1 s). Run it on a quiet machine: it is a measurement, not a test.
"""

import argparse
import os
import re
import shutil
import statistics
import subprocess
import sys
import tempfile
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent


def _git(repo: Path, *args):
    subprocess.run(["git", *args], cwd=repo, check=True, capture_output=True)


def repository(repo: Path):
    """The ordinary training repository the hook must pass quickly."""
    (repo / ".github" / "workflows").mkdir(parents=True)
    (repo / "configs").mkdir()
    _git(repo, "init", "-q")
    vocab = ", ".join(f'"tok{i}": {i}' for i in range(11 * 1000 * 1000 // 14))
    (repo / "tokenizer.json").write_text('{"version": "1.0", "model": {"type": "BPE", "vocab": {' + vocab + "}}}\n")
    (repo / ".github" / "workflows" / "ci.yml").write_text("on: [push]\njobs: {}\n")
    (repo / "package.json").write_text('{"name": "docs-site", "version": "1.0.0"}\n')
    shutil.copy(ROOT / "sample_configs" / "deepspeed-llamafactory" / "ds_z3_config.json", repo / "configs" / "ds.json")
    shutil.copy(ROOT / "sample_configs" / "openrlhf-v0.11.0-train-rm" / "train_rm.sh", repo / "train_rm.sh")
    _git(repo, "add", ".")


def hook_seconds(repo: Path, home: Path) -> float:
    pre_commit = shutil.which("pre-commit", path=os.path.dirname(sys.executable)) or "pre-commit"
    env = {**os.environ, "PRE_COMMIT_HOME": str(home), "HOME": str(home), "NO_COLOR": "1"}
    run = subprocess.run([pre_commit, "try-repo", str(ROOT), "rmlint", "--all-files", "--color", "never", "--verbose"],
                         cwd=repo, capture_output=True, text=True, timeout=900, env=env)
    if run.returncode != 0:
        sys.exit(f"the hook failed on the clean repository:\n{run.stdout}{run.stderr}")
    return float(re.search(r"- duration: ([0-9.]+)s", run.stdout).group(1))


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=9)
    parser.add_argument("--bound", type=float, default=1.0)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        repo, home = Path(tmp) / "project", Path(tmp) / "pre-commit-home"
        repository(repo)
        hook_seconds(repo, home)          # installs the environment
        times = [hook_seconds(repo, home) for _ in range(args.runs)]
    median = statistics.median(times)
    print(f"hook duration (pre-commit --verbose), median of {args.runs}: {median:.2f} s "
          f"(min {min(times):.2f}, max {max(times):.2f}); bound {args.bound:.2f} s")
    sys.exit(0 if median <= args.bound else 1)


if __name__ == "__main__":
    main()
