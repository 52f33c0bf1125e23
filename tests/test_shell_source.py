"""`source FILE ARGS` / `. FILE ARGS` followed: OpenRLHF's slurm wrapper (v0.4.1, fetched with read_file,
tests/fixtures/upstream/MANIFEST.tsv) sources `./train_ppo_llama.sh slurm` and runs
`torchrun ... -m ${training_commands}` from the sourced heredoc. What the sourced file defines flows back;
its flags point at their lines in it; a missing file is named in the launch's reason; reading is bounded."""

import json
import os
import shutil
import time
from pathlib import Path

from conftest import cli

V041 = Path(__file__).resolve().parent / "fixtures" / "upstream" / "openrlhf" / "v0.4.1" / "examples" / "scripts"
WRAPPER = V041 / "train_llama_slurm.sh"


def check(*paths) -> dict:
    result = cli("check", "--format", "json", *map(str, paths))
    assert result.exit_code in (0, 1), result.output
    return json.loads(result.output)


def findings(report: dict) -> list:
    return [(f["rule"], os.path.basename(f["path"]), f["line"], f["message"]) for f in report["findings"]
            if f["rule"] != "RM501"]      # checkpoint notes for hub names, not this test's subject


def launches(report: dict) -> list:
    return [(r["line"], r["launcher"], r["program"], r["understood"], r["reason"]) for r in report["launches"]]


def test_the_upstream_slurm_wrapper_runs_the_sourced_heredoc(monkeypatch):
    monkeypatch.chdir(V041)    # the examples are run from their own folder
    report = check("train_llama_slurm.sh")
    assert launches(report) == [(38, "torchrun", "openrlhf.cli.train_ppo", True, "")]
    assert report["launches"][0]["releases"] == "0.3.6 - 0.6.1.post1"


def test_the_wrapper_is_found_from_any_working_directory(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    report = check(WRAPPER)
    assert launches(report) == [(38, "torchrun", "openrlhf.cli.train_ppo", True, "")]


def test_a_flag_from_the_sourced_file_points_at_its_line_there(tmp_path, monkeypatch):
    for name in ("train_llama_slurm.sh", "train_ppo_llama.sh"):
        shutil.copy(V041 / name, tmp_path / name)
    sourced = tmp_path / "train_ppo_llama.sh"
    sourced.write_text(sourced.read_text().replace("   --zero_stage 2 \\\n",
                                                   "   --zero_stage 2 --lora_rank 8 --load_in_4bit \\\n"))
    monkeypatch.chdir(tmp_path)
    report = check("train_llama_slurm.sh")
    assert launches(report) == [(38, "torchrun", "openrlhf.cli.train_ppo", True, "")]
    assert findings(report) == [
        ("RM220", "train_ppo_llama.sh", 18, "`--load_in_4bit` also loads the frozen reward and reference models "
                                            "in 4-bit, without LoRA, under a ZeRO stage 0 engine")]


def test_a_missing_sourced_file_is_named_in_the_reason(tmp_path, monkeypatch):
    shutil.copy(WRAPPER, tmp_path / "train_llama_slurm.sh")
    monkeypatch.chdir(tmp_path)
    report = check("train_llama_slurm.sh")
    reason = ("torchrun's program comes from a variable rmlint cannot see; ./train_ppo_llama.sh, which the "
              "script sources, is not found beside it or in the working directory")
    assert launches(report) == [(38, "torchrun", "", False, reason)]
    assert findings(report) == [("RM006", "train_llama_slurm.sh", 38, f"launch not understood (torchrun): {reason}")]


def test_arguments_functions_and_variables_flow_back(tmp_path, monkeypatch):
    (tmp_path / "common.sh").write_text('STAGE=${1}\nrun_rm() {\n  deepspeed --module openrlhf.cli.train_rm '
                                        '--pretrain m "$@"\n}\n')
    (tmp_path / "go.sh").write_text(". ./common.sh 3\nrun_rm --zero_stage $STAGE --bf16\n")
    monkeypatch.chdir(tmp_path)
    report = check("go.sh")
    assert [(r["path"], r["line"], r["program"], r["understood"]) for r in report["launches"]] == [
        ("common.sh", 3, "openrlhf.cli.train_rm", True)]


def test_sourcing_cycles_are_read_once(tmp_path, monkeypatch):
    (tmp_path / "a.sh").write_text("source ./b.sh\nA=--bf16\n")
    (tmp_path / "b.sh").write_text("source ./a.sh\nB=openrlhf.cli.train_rm\n")
    (tmp_path / "go.sh").write_text("source ./a.sh\ndeepspeed --module $B --pretrain m $A\n")
    monkeypatch.chdir(tmp_path)
    report = check("go.sh")
    assert launches(report) == [(2, "deepspeed", "openrlhf.cli.train_rm", True, "")]


def test_a_chain_deeper_than_followed_leaves_the_launch_not_understood(tmp_path, monkeypatch):
    """c7.sh .. c40.sh are not read and may set any variable: $B and $A are not trusted after them
    (review-a: the chain used to be dropped silently and the launch passed)."""
    (tmp_path / "a.sh").write_text("A=--bf16\nB=openrlhf.cli.train_rm\n")
    for k in range(40):
        (tmp_path / f"c{k}.sh").write_text(f"source ./c{k + 1}.sh\n")
    (tmp_path / "go.sh").write_text("source ./a.sh\nsource ./c0.sh\ndeepspeed --module openrlhf.cli.train_rm "
                                    "--pretrain m $A\n")
    monkeypatch.chdir(tmp_path)
    report = check("go.sh")
    assert launches(report) == [(3, "deepspeed", "openrlhf.cli.train_rm", False,
                                 "an argument comes from a variable rmlint cannot see, where any flags may stand; "
                                 "./c6.sh: sourced files nest deeper than 6; not read")]


def test_a_source_past_the_file_limit_is_no_silent_pass(tmp_path, monkeypatch):
    """16 distinct files are read; the 17th (bad.sh) may redefine $ARGS, so the launch is not understood
    rather than passed with the value good.sh set."""
    for k in range(16):
        (tmp_path / f"g{k}.sh").write_text('ARGS="--pretrain m --bf16"\n')
    (tmp_path / "bad.sh").write_text('ARGS="--pretrain m --no_such_flagz 1"\n')
    (tmp_path / "go.sh").write_text("".join(f"source ./g{k}.sh\n" for k in range(16)) + "source ./bad.sh\n"
                                    "deepspeed --module openrlhf.cli.train_rm $ARGS\n")
    monkeypatch.chdir(tmp_path)
    report = check("go.sh")
    assert launches(report) == [(18, "deepspeed", "openrlhf.cli.train_rm", False,
                                 "an argument comes from a variable rmlint cannot see, where any flags may stand; "
                                 "./bad.sh: the script sources more than 16 files; the rest are not read")]


def test_one_file_sourced_again_is_not_counted_twice(tmp_path, monkeypatch):
    (tmp_path / "a.sh").write_text('ARGS="--pretrain m --no_such_flagz 1"\n')
    (tmp_path / "go.sh").write_text("source ./a.sh\n" * 20 + "deepspeed --module openrlhf.cli.train_rm $ARGS\n")
    monkeypatch.chdir(tmp_path)
    report = check("go.sh")
    assert findings(report) == [("RM401", "a.sh", 1, "unknown flag `--no_such_flagz` for train_rm")]


def test_an_unknown_flag_set_in_a_sourced_file_points_at_that_file(tmp_path, monkeypatch):
    """Not only heredocs: a flag from a sourced assignment is RM401 at its line and column in the
    sourced file (review-a: it was main.sh with the sourced file's line and column)."""
    (tmp_path / "a.sh").write_text('# flags\nARGS="--pretrain m --no_such_flagz 1"\n')
    (tmp_path / "go.sh").write_text("source ./a.sh\ndeepspeed --module openrlhf.cli.train_rm $ARGS\n")
    monkeypatch.chdir(tmp_path)
    report = check("go.sh")
    assert [(f["rule"], f["path"], f["line"], f["column"]) for f in report["findings"]] == [("RM401", "a.sh", 2, 20)]


def test_reasons_name_a_few_unread_files_and_count_the_rest(tmp_path, monkeypatch):
    (tmp_path / "go.sh").write_text("".join(f"source ./m{k}.sh\n" for k in range(2000)) +
                                    "deepspeed --module openrlhf.cli.train_rm $ARGS\n")
    monkeypatch.chdir(tmp_path)
    report = check("go.sh")
    missing = [f"./m{k}.sh, which the script sources, is not found beside it or in the working directory"
               for k in range(4)]
    assert launches(report) == [(2001, "deepspeed", "openrlhf.cli.train_rm", False, "; ".join(
        ["an argument comes from a variable rmlint cannot see, where any flags may stand", *missing,
         "1996 more sourced files not read"]))]


def test_files_outside_the_project_or_not_regular_are_not_read(tmp_path, monkeypatch):
    os.mkfifo(tmp_path / "fifo.sh")
    (tmp_path / "go.sh").write_text("source /etc/profile\nsource ~/.bashrc\nsource ./fifo.sh\n"
                                    "deepspeed --module $CMD\n")
    monkeypatch.chdir(tmp_path)
    report = check("go.sh")
    assert launches(report) == [(4, "deepspeed", "", False,
                                 "deepspeed's program comes from a variable rmlint cannot see; "
                                 "/etc/profile, which the script sources, is outside the project (not followed); "
                                 "~/.bashrc, which the script sources, is outside the project (not followed); "
                                 "./fifo.sh, which the script sources, is not read: not a regular file (a FIFO); "
                                 "not read")]


def test_many_large_sourced_files_are_read_in_bounded_time(tmp_path, monkeypatch):
    body = "f() { deepspeed --module openrlhf.cli.train_rm --pretrain m --bf16; }\n" + "X=" + "y" * 200_000 + "\n"
    for k in range(30):
        (tmp_path / f"s{k}.sh").write_text(body + f"source ./s{k + 1}.sh\nsource ./s0.sh\n")
    (tmp_path / "go.sh").write_text("".join(f"source ./s{k}.sh\n" for k in range(30)) + "f\n")
    monkeypatch.chdir(tmp_path)
    started = time.perf_counter()
    report = check("go.sh")
    assert time.perf_counter() - started < 10
    # the budget runs out sourcing s4.sh from s3.sh (five 200 KB files are past 1 MB): said there
    assert [(f["rule"], f["path"], f["line"]) for f in report["findings"]] == [("RM001", "s3.sh", 3)]
    assert report["findings"][0]["message"] == (
        "expansions in this script produce more text than rmlint follows (a variable built from copies of "
        "itself?); the rest is not read")


def test_a_sourced_file_defines_what_a_later_call_runs(tmp_path, monkeypatch):
    body = "f() { deepspeed --module openrlhf.cli.train_rm --pretrain m --bf16; }\n" + "X=" + "y" * 100_000 + "\n"
    for k in range(4):
        (tmp_path / f"s{k}.sh").write_text(body + f"source ./s{k + 1}.sh\nsource ./s0.sh\n")
    (tmp_path / "go.sh").write_text("source ./s0.sh\nf\n")
    monkeypatch.chdir(tmp_path)
    report = check("go.sh")
    assert [(r["path"], r["line"], r["program"], r["understood"]) for r in report["launches"]] == [
        ("s3.sh", 1, "openrlhf.cli.train_rm", True)]   # the last definition, as in bash
