"""A launch rmlint does not understand says why, in its RM006 finding and in the `reason` of its record in
the output's `launches` list, from one template per reason kind in RM006's rule file (issue 15). The texts
below are the ones the readers worded in Python before the move (same words, same joins)."""

import pytest

from rmlint import lint

ARGV = [
    (["deepspeed", "--num_gpus", "8"], "deepspeed", "deepspeed is given no program"),
    (["python", "-c", "print(1)"], "python", "python -c runs code given inline"),
    (["python"], "python", "python is given no script"),
    (["torchrun", "--nproc_per_node", "2", "python"], "torchrun", "python is given no script"),
    (["accelerate", "launch", "python", "-m"], "accelerate", "python -m with a module rmlint cannot read"),
]


@pytest.mark.parametrize("argv,program,reason", ARGV)
def test_the_record_and_the_finding_give_the_same_reason(argv, program, reason):
    result = lint.lint_argv(argv)
    assert [(r["understood"], r["reason"]) for r in result.launches] == [(False, reason)]
    assert [(f.rule, f.message) for f in result.findings if f.rule == "RM006"] == \
        [("RM006", f"launch not understood ({program}): {reason}")]


SCRIPTS = [
    ("uv run -m $MOD --x\n", 1, "python", "python -m with a module rmlint cannot read"),
    # srun's program expands to nothing: said so, not "`` is no program rmlint knows how to read"
    ("srun $UNSET_VAR --foo\n", 1, "srun", "srun is given no program"),
    ("source $CFG\ndeepspeed main.py\n", 2, "main.py",
     "unknown script `main.py`: no framework's module, path or import says what it is; "
     "the script sources a file named by a word rmlint cannot read"),
]


@pytest.mark.parametrize("text,line,program,reason", SCRIPTS)
def test_a_script_launch_and_its_unread_sources_are_worded_once(tmp_path, monkeypatch, text, line, program, reason):
    monkeypatch.chdir(tmp_path)
    (tmp_path / "train.sh").write_text(text)
    result = lint.lint_paths(["train.sh"])
    assert [(r["line"], r["reason"]) for r in result.launches] == [(line, reason)]
    assert [(f.line, f.message) for f in result.findings if f.rule == "RM006"] == \
        [(line, f"launch not understood ({program}): {reason}")]


def test_an_understood_launch_has_no_reason():
    result = lint.lint_argv(["deepspeed", "--module", "openrlhf.cli.train_rm", "--pretrain", "m", "--zero_stage", "2"])
    assert [(r["understood"], r["reason"]) for r in result.launches] == [(True, "")]
