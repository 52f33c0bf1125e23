"""The README's snippets, pasted as a user pastes them: they run and say what the README says."""

import re
from pathlib import Path

import pytest

from conftest import cli

ROOT = Path(__file__).resolve().parent.parent
README = (ROOT / "README.md").read_text()
CLEAN_DS = '{"train_micro_batch_size_per_gpu": 2, "gradient_accumulation_steps": 4, "zero_optimization": {"stage": 2}}'


def _block(after: str, language: str) -> str:
    found = re.search(re.escape(after) + r".*?```" + language + r"\n(.*?)```", README, re.S)
    assert found, f"no {language} block after {after!r} in README.md"
    return found.group(1)


def test_the_settings_example_pasted_into_pyproject_toml_works(tmp_path, monkeypatch):
    block = _block("### Settings", "toml")
    assert block.startswith("[tool.rmlint]\n") and "[tool.rmlint.severity]" in block
    (tmp_path / "pyproject.toml").write_text(block)
    (tmp_path / "ds.json").write_text(CLEAN_DS)
    monkeypatch.chdir(tmp_path)
    result = cli("check", "ds.json")
    assert (result.exit_code, result.output) == (0, "All checks passed (1 file checked).\n")
    bad = cli("check", "--show-settings", ".")
    assert bad.exit_code == 0, bad.output


def test_inspect_checkpoints_returns_a_result_like_the_functions_beside_it():
    import rmlint
    assert "inspect_checkpoints([...])" in _block("### Library", "python")
    fixtures = ROOT / "tests" / "fixtures" / "checkpoints"
    result = rmlint.inspect_checkpoints([str(fixtures / "openrlhf_rm_missing_head"), str(fixtures / "hf_seqcls")])
    assert isinstance(result, rmlint.Result)
    assert ([f.rule for f in result.findings], result.errors, result.files) == (["RM606"], 1, 2)
    assert [(c["head"]["found"], c["head"]["name"]) for c in result.checkpoints] == [(False, ""), (True, "score.weight")]
    entries, same = result          # the earlier (entries, result) unpacking keeps working
    assert (entries, same) == (result.checkpoints, result)


def test_the_library_snippet_runs_in_a_launcher_that_is_not_openrlhfs_own_cli(monkeypatch):
    """The README's Library block, run where sys.argv[0] is the user's launcher: with entrypoint= as
    shown it checks; without it rmlint.check cannot tell the entrypoint (the reason the README shows it)."""
    import sys

    import rmlint
    import upstream
    flags = "--pretrain m --bf16 --zero_stage 2".split()
    real = upstream.parser("0.9.1", "train_rm")

    class Parser:
        def parse_args(self):
            return real.parse_args(flags)

    monkeypatch.setattr(sys, "argv", ["deepspeed", "--module", "openrlhf.cli.train_rm", *flags])
    monkeypatch.setattr(sys.modules["__main__"], "__spec__", None, raising=False)
    snippet = _block("### Library", "python")
    scope = {"parser": Parser(), "sys": sys}
    exec(compile(snippet, "README.md", "exec"), scope)
    assert scope["result"].errors == 0 and scope["result"].files == 1
    with pytest.raises(rmlint.UsageError, match="cannot tell which OpenRLHF entrypoint"):
        rmlint.check(scope["args"])


def test_the_readme_states_no_rule_count_that_can_drift_from_the_catalog():
    """Rules are added in parallel: a count written in prose is stale after the next one (it said 115 at 117)."""
    from rmlint.rules import builtin
    counts = [int(n) for n in re.findall(r"\b(\d+) rules\b", README)]
    assert all(count == len(builtin()) for count in counts), (counts, len(builtin()))
