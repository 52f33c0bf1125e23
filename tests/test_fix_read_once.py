"""Fixes found while linting (issue 15): a finding carries its edits, so `--fix`, `--diff` and the
"N fixable" line read each file once, through the one place rmlint opens its inputs."""

import collections
import os

import pytest

from conftest import cli
from rmlint.sources import files

DS = """\
{
  "train_micro_batch_size_per_gpu": 4,
  "gradient_acumulation_steps": 8,
  "zero_optimization": {"stage": 2, "overlap_com": true}
}
"""
SCRIPT = ("deepspeed --module openrlhf.cli.train_rm --pretrain m --bf16 \\\n"
          "   --zero_stage 3 \\\n   --load_in_4bit --lora_rank 64 --target_modules q_proj\n")


@pytest.fixture
def opens(monkeypatch):
    """Opens per real path of every input rmlint reads (sources.files.open_input)."""
    counted, real = collections.Counter(), files.open_input

    def counting(path, *args, **kwargs):
        counted[os.path.realpath(path)] += 1
        return real(path, *args, **kwargs)
    monkeypatch.setattr(files, "open_input", counting)
    return counted


@pytest.fixture
def project(tmp_path, monkeypatch):
    monkeypatch.setenv("RMLINT_NO_CACHE", "1")
    (tmp_path / "ds.json").write_text(DS)
    (tmp_path / "train_rm.sh").write_text(SCRIPT)
    return tmp_path


def read(project, opens):
    return {name: opens[os.path.realpath(project / name)] for name in ("ds.json", "train_rm.sh")}


def test_a_text_run_with_fixable_findings_reads_each_file_once(project, opens):
    result = cli("check", str(project))
    assert result.exit_code == 1
    lines = result.output.splitlines()
    assert "[*] 2 fixable with `rmlint check --fix`." in lines
    assert "1 more fixable with `--fix --unsafe-fixes`." in lines
    assert '3 |   "gradient_acumulation_steps": 8,' in lines     # the source line shown comes from the same read
    assert read(project, opens) == {"ds.json": 1, "train_rm.sh": 1}


def test_diff_reads_each_file_once_and_writes_nothing(project, opens):
    result = cli("check", "--diff", "--unsafe-fixes", str(project))
    assert result.exit_code == 1
    assert '\n-  "gradient_acumulation_steps": 8,\n' in result.output
    assert '\n+  "gradient_accumulation_steps": 8,\n' in result.output
    assert "-   --zero_stage 3 \\\n+   --zero_stage 2 \\\n" in result.output
    assert result.output.endswith("Would fix 3 findings in 2 files.\n")
    assert (project / "ds.json").read_text() == DS and (project / "train_rm.sh").read_text() == SCRIPT
    assert read(project, opens) == {"ds.json": 1, "train_rm.sh": 1}


def test_fix_reads_each_file_once_and_reports_what_is_left_from_the_fixed_text(project, opens):
    result = cli("check", "--fix", "--unsafe-fixes", str(project))
    assert (project / "ds.json").read_text() == DS.replace("acumulation", "accumulation").replace(
        "overlap_com", "overlap_comm")
    assert (project / "train_rm.sh").read_text() == SCRIPT.replace("--zero_stage 3", "--zero_stage 2")
    assert "Fixed 3 findings in 2 files:" in result.output
    assert "RM201" not in result.output.split("Fixed", 1)[1].split(":", 1)[1].replace("RM201 --zero_stage", "")
    assert read(project, opens) == {"ds.json": 1, "train_rm.sh": 1}
    again = cli("check", "--diff", "--unsafe-fixes", str(project))   # a new run reads the files as written
    assert again.output == "" and again.exit_code == 0


def test_engine_run_leaves_the_subjects_it_judges_as_they_were():
    """engine.run reads facts; it clamps numbers beyond int64 for CEL in its own copy, not in the subject."""
    import copy
    from rmlint import engine
    from rmlint.frameworks.deepspeed.subjects import deepspeed_subject
    from rmlint.rules import builtin
    from rmlint.sources.document import load_json
    subject = deepspeed_subject(load_json('{"train_batch_size": 99999999999999999999999, '
                                          '"zero_optimization": {"stage": 3}}', "ds.json"), "unknown")
    before = copy.deepcopy(subject.facts)
    found = engine.run([subject], builtin())
    assert found and subject.facts == before
    assert before["ds"]["train_batch_size"] == 99999999999999999999999
