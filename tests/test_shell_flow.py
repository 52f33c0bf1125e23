"""Where bash stops reading a launch script (rmlint/sources/shellflow.py), checked against bash itself: each
script runs under real bash with a fake `deepspeed` on PATH that prints its `--seed`, once with X unset
and once with X=1. A launch bash runs in either run must be read and checked by rmlint; a launch rmlint
lists as never run (RM013) must be one bash runs in neither."""

import json
import os
import re
import shutil
import subprocess

import pytest

from conftest import cli

BASH = shutil.which("bash")
LAUNCH = "deepspeed --module openrlhf.cli.train_rm --pretrain m --seed {}"


def launch(seed: int) -> str:
    return LAUNCH.format(seed)


# name -> (script, {sourced file: text}); `L1`, `L2`... stand for launches with that seed
CASES = {
    "exit at the top": ("L1\nexit 0\nL2\n", {}),
    "exit after a semicolon": ("L1\necho a; exit; L2\n", {}),
    "exit after fi": ("if [ -z \"$X\" ]; then L1; fi\nexit 3\nL2\n", {}),
    "exit || true still exits": ("exit 1 || true\nL1\n", {}),
    "exit && x still exits": ("exit 0 && L1\nL2\n", {}),
    "conditional with &&": ("[ -z \"$X\" ] && exit 1\nL1\n", {}),
    "conditional with ||": ("[ -n \"$X\" ] || exit 1\nL1\n", {}),
    "&& then a newline": ("[ -z \"$X\" ] &&\n  exit 1\nL1\n", {}),
    "inside if": ("if [ -z \"$X\" ]; then\n  exit 1\nfi\nL1\n", {}),
    "inside else": ("if [ -z \"$X\" ]; then L1; else exit 2; fi\nL2\n", {}),
    "inside case": ("case \"$X\" in\n  1) exit 1;;\nesac\nL1\n", {}),
    "inside a loop": ("for i in $X; do\n  exit\ndone\nL1\n", {}),
    "inside a function never called": ("usage() { echo usage; exit 1; }\nL1\n", {}),
    "inside a group after &&": ("[ -z \"$X\" ] && { echo no X; exit 1; }\nL1\n", {}),
    "in a subshell": ("( exit 1 )\nL1\n", {}),
    "in the background": ("exit 1 &\nwait\nL1\n", {}),
    "in a pipeline": ("echo | exit 1\nL1\n", {}),
    "in bash -c": ("bash -c 'exit 1'\nL1\n", {}),
    "return outside a function": ("return 0\nL1\n", {}),
    "sourced file exits": ("L1\nsource ./lib.sh\nL2\n", {"lib.sh": "A=1\nexit 0\n"}),
    "sourced file returns": ("source ./lib.sh\nL1 --lr $LR\n", {"lib.sh": "LR=1e-5\nreturn\nLR=oops\n"}),
    "sourced file exits conditionally": ("source ./lib.sh\nL1\n", {"lib.sh": "[ -n \"$X\" ] && exit 0\n"}),
    "sourced conditionally, file exits": ("[ -n \"$X\" ] && source ./lib.sh\nL1\n", {"lib.sh": "exit 0\n"}),
    "nested source exits": ("source ./a.sh\nL1\n", {"a.sh": "source ./b.sh\n", "b.sh": "exit 0\n"}),
}


def text_of(script: str) -> str:
    return re.sub(r"L(\d)", lambda m: launch(int(m.group(1))), script)


def bash_runs(folder, script: str, x: str | None) -> set:
    env = {k: v for k, v in os.environ.items() if k != "X"}
    env["PATH"] = f"{folder / 'bin'}:{env['PATH']}"
    if x is not None:
        env["X"] = x
    done = subprocess.run([BASH, "train.sh"], cwd=folder, env=env, capture_output=True, text=True, timeout=20)
    return {int(seed) for seed in re.findall(r"^RAN (\d)", done.stdout, re.M)}


def write(folder, script: str, sourced: dict):
    (folder / "bin").mkdir()
    fake = folder / "bin" / "deepspeed"
    fake.write_text('#!/bin/sh\nwhile [ $# -gt 0 ]; do [ "$1" = --seed ] && echo "RAN $2"; shift; done\n')
    fake.chmod(0o755)
    (folder / "train.sh").write_text(text_of(script))
    for name, text in sourced.items():
        (folder / name).write_text(text_of(text))


def rmlint_reads(folder, monkeypatch) -> tuple:
    """(seeds of launches rmlint reads, seeds it lists as never run, RM013 messages)"""
    monkeypatch.chdir(folder)
    result = cli("check", "--format", "json", "train.sh")
    assert result.exit_code in (0, 1), result.output
    report = json.loads(result.output)
    lines = (folder / "train.sh").read_text().split("\n")
    seed = {n + 1: int(m.group(1)) for n, line in enumerate(lines) if (m := re.search(r"--seed (\d)", line))}
    read = {seed[r["line"]] for r in report["launches"] if not r["reason"].startswith("never runs")}
    never = {seed[r["line"]] for r in report["launches"] if r["reason"].startswith("never runs")}
    notes = [(f["line"], f["message"]) for f in report["findings"] if f["rule"] == "RM013"]
    return read, never, notes


@pytest.mark.skipif(BASH is None, reason="bash is not installed")
@pytest.mark.parametrize("name", list(CASES))
def test_rmlint_reads_the_launches_bash_runs(name, tmp_path, monkeypatch):
    script, sourced = CASES[name]
    write(tmp_path, script, sourced)
    ran = bash_runs(tmp_path, script, None) | bash_runs(tmp_path, script, "1")
    every = {int(s) for s in re.findall(r"L(\d)", script)}
    read, never, notes = rmlint_reads(tmp_path, monkeypatch)
    assert read | never == every
    assert ran <= read, f"bash runs {ran - read}, which rmlint does not check"
    assert never == every - ran         # each launch bash never reaches, and only those, is listed as never run
    assert len(notes) == len(never)


def test_the_never_run_launch_is_listed_with_the_exit_line(tmp_path, monkeypatch):
    write(tmp_path, "L1\n\nexit 0\nL2\n", {})
    monkeypatch.chdir(tmp_path)
    report = json.loads(cli("check", "--format", "json", "train.sh").output)
    assert [(r["line"], r["understood"], r["reason"]) for r in report["launches"]] == [
        (1, True, ""), (4, False, "never runs: the script exits first, at train.sh:3")]
    assert [(f["rule"], f["line"], f["column"], f["message"]) for f in report["findings"] if f["rule"] == "RM013"] == [
        ("RM013", 4, 20, "this launch never runs (openrlhf.cli.train_rm): the script exits first, at train.sh:3; "
                         "rmlint does not check it")]


def test_an_exit_in_a_sourced_file_is_named_at_its_line_there(tmp_path, monkeypatch):
    write(tmp_path, "source ./lib.sh\nL1\n", {"lib.sh": "A=1\n\nexit 0\n"})
    monkeypatch.chdir(tmp_path)
    report = json.loads(cli("check", "--format", "json", "train.sh").output)
    assert [(r["line"], r["reason"]) for r in report["launches"]] == [
        (2, "never runs: the script exits first, at lib.sh:3")]


def test_a_launch_after_exit_is_not_checked(tmp_path, monkeypatch):
    """A launch below the exit with an error rmlint would report (QLoRA under ZeRO-3) gives only the note."""
    write(tmp_path, "exit 0\ndeepspeed --module openrlhf.cli.train_rm --pretrain m --bf16 --zero_stage 3 "
                    "--load_in_4bit --lora_rank 8\n", {})
    monkeypatch.chdir(tmp_path)
    result = cli("check", "--format", "json", "train.sh")
    assert result.exit_code == 0
    assert [f["rule"] for f in json.loads(result.output)["findings"]] == ["RM013"]


def test_a_script_over_the_size_limit_says_its_sources_are_not_read(tmp_path, monkeypatch):
    """bash reads `source ./env.sh` in a script of any size; rmlint follows it only up to 256 KB, and a larger
    script's launch whose flags come from a variable the file may set is listed as not understood, naming the
    limit (before, rmlint used ARGS as set above the `source` and said "All checks passed")."""
    (tmp_path / "env.sh").write_text("ARGS='--zero_stage 3 --load_in_4bit'\n")
    padding = "# " + "x" * 1000 + "\n"
    (tmp_path / "train.sh").write_text("ARGS='--zero_stage 2'\nsource ./env.sh\n" + padding * 300
                                       + "deepspeed --module openrlhf.cli.train_rm --pretrain m $ARGS\n")
    monkeypatch.chdir(tmp_path)
    report = json.loads(cli("check", "--format", "json", "train.sh").output)
    reason = ("an argument comes from a variable rmlint cannot see, where any flags may stand; ./env.sh: not read; "
              "rmlint follows `source` only in scripts up to 256 KB, and this one is larger")
    assert [(r["line"], r["understood"], r["reason"]) for r in report["launches"]] == [(303, False, reason)]


# `[[ ... ]]` is one bash conditional: `&&`, `||`, `<`, `>`, `(` and `)` inside it belong to the test
# (verl's sapo_trainer/run_qwen30b_sapo.sh line 23 was split at `&&`, and `-d` read as a command: RM009)
BRACKET_CASES = {
    "&& inside": "if [[ -n \"$X\" && -d / ]]; then L1; fi\nL2\n",
    "|| and parens inside": "[[ ( -n \"$X\" ) || -d /nonexistent ]] && L1\nL2\n",
    "< inside compares strings": "[[ \"$X\" < \"b\" ]] && L1\nL2\n",
    "&& after the test": "[[ -n \"$X\" ]] && L1 || L2\n",
    "a quoted [[ opens nothing": "echo \"[[\" && L1\nL2\n",
}


@pytest.mark.skipif(BASH is None, reason="bash is not installed")
@pytest.mark.parametrize("name", list(BRACKET_CASES))
def test_a_double_bracket_test_is_one_command(name, tmp_path, monkeypatch):
    script = BRACKET_CASES[name]
    write(tmp_path, script, {})
    assert subprocess.run([BASH, "-n", "train.sh"], cwd=tmp_path).returncode == 0
    ran = bash_runs(tmp_path, script, None) | bash_runs(tmp_path, script, "1")
    monkeypatch.chdir(tmp_path)
    result = cli("check", "--format", "json", "train.sh")
    report = json.loads(result.output)
    assert [(f["rule"], f["line"], f["message"]) for f in report["findings"] if f["severity"] == "error"] == []
    assert result.exit_code == 0
    lines = {r["line"] for r in report["launches"] if r["understood"]}
    text = (tmp_path / "train.sh").read_text().split("\n")
    read = {int(seed) for n in lines for seed in re.findall(r"--seed (\d)", text[n - 1])}
    assert ran <= read
