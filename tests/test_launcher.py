"""rmlint inside launchers: `rmlint run` (exec on success), rmlint.check and rmlint.check_namespace
on the Namespaces OpenRLHF's own parsers produce (flat 0.9.1, nested 0.11.0)."""

import logging
import shlex
import subprocess
import sys

import pytest

import rmlint
import upstream
from conftest import FIXTURES, ROOT, run_rmlint
from rmlint.config import Settings

QLORA_FLAT = "--pretrain m --bf16 --zero_stage 3 --load_in_4bit --lora_rank 8 --target_modules q_proj"
QLORA_DOTTED = ("--model.model_name_or_path m --ds.zero_stage 3 --ds.load_in_4bit --ds.lora.rank 8 "
                "--ds.lora.target_modules q_proj")


def test_run_refuses_a_launch_with_errors():
    result = run_rmlint("run", "--", "deepspeed", "--module", "openrlhf.cli.train_rm", *QLORA_FLAT.split())
    assert result.returncode == 1 and result.stdout == ""
    assert "error RM201 QLoRA" in result.stderr
    assert result.stderr.splitlines()[-1] == "rmlint: not running the command (fix the errors above, or suppress them with a reason)"


def test_run_execs_a_clean_command_with_its_own_exit_code():
    result = run_rmlint("run", "--", sys.executable, "-c", "import sys; print('trained'); sys.exit(3)")
    assert (result.returncode, result.stdout) == (3, "trained\n")


def test_run_execs_a_clean_openrlhf_launch(tmp_path):
    """The launch itself runs (here a stand-in openrlhf package prints its argv), under the same PID."""
    package = tmp_path / "openrlhf" / "cli"
    package.mkdir(parents=True)
    (tmp_path / "openrlhf" / "__init__.py").write_text("")
    (package / "__init__.py").write_text("")
    (package / "train_rm.py").write_text("import os, sys; print(os.getpid(), sys.argv[1:])\n")
    code = ("import os, subprocess, sys; p = subprocess.Popen([sys.executable, '-m', 'rmlint', 'run', '--', "
            "sys.executable, '-m', 'openrlhf.cli.train_rm', '--pretrain', 'm', '--bf16', '--zero_stage', '2'], "
            "stdout=subprocess.PIPE, text=True, env={**os.environ, 'PYTHONPATH': os.pathsep.join(sys.path)}); "
            "out = p.communicate()[0]; print(p.pid, out.strip())")
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, cwd=tmp_path, timeout=120)
    parent_pid, child_pid, argv = done.stdout.split(" ", 2)
    assert parent_pid == child_pid    # exec: the training process is the rmlint process
    assert argv.strip() == "['--pretrain', 'm', '--bf16', '--zero_stage', '2']"


def test_run_dry_run_and_named_deepspeed_files(tmp_path):
    config = tmp_path / "ds.json"
    config.write_text('{"train_batch_size": 8, "fp16": {"enabled": true}, "bf16": {"enabled": true}}')
    refused = run_rmlint("run", "--dry-run", "--", "python", "train.py", f"--deepspeed={config}")
    assert refused.returncode == 1 and "RM101" in refused.stderr
    config.write_text('{"train_batch_size": 8, "bf16": {"enabled": true}}')
    clean = run_rmlint("run", "--dry-run", "--", "python", "train.py", "--deepspeed", str(config))
    assert clean.returncode == 0 and clean.stdout == f"would run: {shlex.join(['python', 'train.py', '--deepspeed', str(config)])}\n"


def test_run_ignores_files_that_are_not_configs(tmp_path):
    data = tmp_path / "prompts.json"
    data.write_text('[{"prompt": "hi"}]')
    result = run_rmlint("run", "--dry-run", "--", "python", "train.py", "--data", str(data))
    assert result.returncode == 0 and "RM002" not in result.stderr
    assert "info RM006 launch not understood (train.py): unknown script `train.py`" in result.stderr     # said, and run


def test_run_reports_a_missing_program():
    result = run_rmlint("run", "--", "no-such-program-rmlint")
    assert result.returncode == 127 and "cannot run no-such-program-rmlint" in result.stderr


@pytest.mark.parametrize("version,flags", [("0.9.1", QLORA_FLAT), ("0.11.0", QLORA_DOTTED)])
def test_check_namespace_on_the_real_parsers(version, flags):
    args = upstream.parser(version, "train_rm").parse_args(flags.split())
    if version == "0.11.0":   # OpenRLHF >= 0.10.2 nests its Namespace (openrlhf/utils/config.py)
        namespace = {}
        exec(compile(upstream.source(version, "openrlhf/utils/config.py"), "config.py", "exec"), namespace)
        args = namespace["hierarchize"](args)
    result = rmlint.check_namespace(args, entrypoint="train_rm")
    assert {f.rule for f in result.findings} == {"RM201", "RM602"}
    assert all(f.path == "<namespace>" for f in result.findings)
    clean = upstream.parser(version, "train_rm").parse_args(flags.replace("3", "2").replace("--load_in_4bit", "")
                                                            .replace("--ds.load_in_4bit", "").split())
    if version == "0.9.1":
        assert rmlint.check_namespace(clean, entrypoint="openrlhf.cli.train_rm").errors == 1   # RM602 stays


def test_check_raises_with_the_findings_and_warns():
    with pytest.raises(rmlint.LintError) as caught:
        rmlint.check(["deepspeed", "--module", "openrlhf.cli.train_rm", *QLORA_FLAT.split()])
    assert {f.rule for f in caught.value.findings} == {"RM201", "RM602"}
    assert str(caught.value).startswith("rmlint found 2 error(s):\n<argv>:1:")


def test_check_sends_each_warning_once_through_the_channel_the_caller_chooses(caplog, recwarn):
    config = {"train_batch_size": 8, "zero_optimisation": {"stage": 2}}
    with caplog.at_level(logging.WARNING, logger="rmlint"):
        result = rmlint.check(config)
    assert result.errors == 0 and result.warnings == 1
    assert [str(w.message) for w in recwarn if w.category is rmlint.RmlintWarning] == [
        "<config>:1:1: RM208 DeepSpeed ignores `zero_optimisation` without a word; did you mean `zero_optimization`?"]
    assert caplog.text == ""
    recwarn.clear()
    with caplog.at_level(logging.WARNING, logger="rmlint"):
        rmlint.check(config, warn_with="logging")
    assert not [w for w in recwarn if w.category is rmlint.RmlintWarning]
    assert caplog.text.count("RM208 DeepSpeed ignores `zero_optimisation`") == 1


def test_check_namespace_needs_an_entrypoint():
    import argparse
    with pytest.raises(rmlint.UsageError, match="pass entrypoint='train_rm'"):
        rmlint.check_namespace(argparse.Namespace(pretrain="m"), entrypoint="not_an_entrypoint")


def test_import_rmlint_stays_light():
    code = "import sys, rmlint; print(sorted(m for m in ('click', 'yaml', 'pydantic', 'cel_expr_python') if m in sys.modules))"
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, cwd=ROOT)
    assert done.stdout.strip() == "[]"


def test_check_namespace_reads_the_values_as_the_running_release_defines_them():
    """value_head_prefix='value_head' was the default before 0.5.3 and is not in 0.9.1: read as 0.9.1 it is
    a choice the checkpoint contradicts; read against every release's defaults it was lost."""
    import argparse
    args = argparse.Namespace(reward_pretrain=str(FIXTURES / "openrlhf_rm_prefix_mismatch"),
                              value_head_prefix="value_head", bf16=True, zero_stage=0)
    as_091 = rmlint.check_namespace(args, entrypoint="serve_rm", version="0.9.1", select=["RM607"])
    assert [f.rule for f in as_091.findings] == ["RM607"]
    assert rmlint.check_namespace(args, entrypoint="serve_rm", select=["RM607"],
                                  settings=Settings(installed_versions=False)).findings == []


def test_attributes_the_release_has_no_flag_for_are_reported_once(recwarn):
    import argparse
    args = argparse.Namespace(pretrain="m", bf16=True, zero_stage=2, my_schedule="cosine")
    result = rmlint.check(args, entrypoint="train_rm", version="0.9.1", select=["RM431"])
    assert [(f.rule, f.severity, f.message) for f in result.findings] == [
        ("RM431", "warning", "`args.my_schedule` is no flag of train_rm in OpenRLHF 0.9.1 (settings); "
                             "rmlint did not check it")]
    assert [str(w.message) for w in recwarn if w.category is rmlint.RmlintWarning] == [
        "<namespace>:1:1: RM431 `args.my_schedule` is no flag of train_rm in OpenRLHF 0.9.1 (settings); "
        "rmlint did not check it"]
