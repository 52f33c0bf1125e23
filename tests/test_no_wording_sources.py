"""Issue 15, the sources' part: the shell reader's own problems, standard input that is too big, and why a
file is refused are kinds with facts, worded by RM001's (and RM014's) YAML; rmlint's own settings and rule
files are worded where its usage errors are (config.py). The words a user sees are the ones they saw before."""

import os
import shutil
import subprocess

import pytest
from conftest import cli

def test_standard_input_over_the_limit_is_worded_by_rm001():
    result = cli("check", "-", input=b"#" * (4 * 1024 * 1024 + 1))
    assert result.exit_code == 1
    assert result.output.splitlines()[0] == ("<stdin>:1:1: error RM001 more than 4 MB on standard input; rmlint "
                                             "reads configs and scripts up to that  [unreadable-input]")


def test_a_settings_file_over_the_limit_is_a_usage_error_in_the_same_words(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    (tmp_path / "ds.json").write_text('{"train_batch_size": 8}')
    (tmp_path / ".rmlint.yaml").write_text("#" * 5_000_000)
    result = cli("check", "ds.json")
    assert result.exit_code == 2
    assert result.output.splitlines()[-1] == (f"Error: {tmp_path}/.rmlint.yaml: cannot read: file is 5.0 MB; "
                                              "rmlint reads settings files up to 4 MB")


def test_a_rule_file_over_the_limit_is_a_usage_error_in_the_same_words(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    (tmp_path / "ds.json").write_text('{"train_batch_size": 8}')
    (tmp_path / "pyproject.toml").write_text('[tool.rmlint]\nrule-packs = ["lint"]\n')
    (tmp_path / "lint").mkdir()
    (tmp_path / "lint" / "RM901-team.yaml").write_text("#" * 1_100_000)
    result = cli("check", "ds.json")
    assert result.exit_code == 2
    assert result.output.splitlines()[-1] == (f"Error: rule pack: {tmp_path}/lint/RM901-team.yaml: cannot read rule: "
                                              "file is 1.1 MB; rmlint reads rule files up to 1 MB")


def test_a_settings_file_that_is_a_fifo_is_named_so(tmp_path):
    from rmlint.config import ConfigError, load
    os.mkfifo(tmp_path / ".rmlint.yaml")
    with pytest.raises(ConfigError) as raised:
        load(str(tmp_path / ".rmlint.yaml"))
    assert str(raised.value) == f"{tmp_path}/.rmlint.yaml: cannot read: not a regular file (a FIFO); not read"


BASH = shutil.which("bash")
POWERS = {"2 ** -1": True, "2 ** N": True, "2 ** (1 - 3)": True, "N ** 2": False, "3 ** 0": False,
          "2 ** 3 ** 2": False, "2 ** (N + 1)": False}


@pytest.mark.skipif(BASH is None, reason="bash is not installed")
def test_a_negative_power_fails_in_bash_with_the_words_rm014_quotes():
    from rmlint.sources.shellarith import NEGATIVE_EXPONENT, check
    for expression, fails in POWERS.items():
        done = subprocess.run([BASH, "-c", f"N=-1\necho $(( {expression} ))"], capture_output=True, text=True,
                              timeout=20)
        assert (f": {NEGATIVE_EXPONENT} (error token is" in done.stderr) == fails, (expression, done.stderr)
        found = check(expression, {"N": "-1"}.get)
        assert (found is not None and found[0] == "arithmetic-negative-exponent") == fails, (expression, found)


def test_a_negative_power_is_an_rm014_finding_at_its_expansion(tmp_path):
    import json
    (tmp_path / "train.sh").write_text("N=-1\nWORLD=$(( 2 ** N ))\n")
    result = cli("check", "--format", "json", str(tmp_path / "train.sh"))
    found = [(f["rule"], f["line"], f["column"], f["message"]) for f in json.loads(result.output)["findings"]]
    assert found == [("RM014", 2, 7, "`$(( 2 ** N ))` fails in bash: it raises to the power -1 (bash: \"exponent "
                                     "less than 0\"); bash abandons the command on this line, so a variable it "
                                     "assigns stays unset and a program it starts does not run")]


def test_why_a_sourced_file_is_not_read_is_worded_by_the_rule_of_its_kind(tmp_path, monkeypatch):
    """The refusal (RM001's refused-too-big, binary-file, not-utf8) inside RM006's source-unreadable, in the finding
    and in the launch's record alike, in the words of the release before the move."""
    import json
    monkeypatch.chdir(tmp_path)
    (tmp_path / "big.sh").write_text("A=1\n" * 75_000)
    (tmp_path / "bin.sh").write_bytes(b'ARGS="--pretrain m"\x00\x01\n')
    (tmp_path / "latin.sh").write_bytes(b'ARGS="--pretrain m\xe9"\n')
    (tmp_path / "go.sh").write_text('ARGS="--pretrain m --bf16"\nsource ./big.sh\nsource ./bin.sh\nsource ./latin.sh\n'
                                    "deepspeed --module openrlhf.cli.train_rm $ARGS\n")
    report = json.loads(cli("check", "--format", "json", "go.sh").output)
    why = ("an argument comes from a variable rmlint cannot see, where any flags may stand; ./big.sh, which the script "
           "sources, is not read: file is 300 KB; rmlint reads sourced scripts up to 262 KB; ./bin.sh, which the "
           "script sources, is not read: binary file (NUL bytes); expected a text config or launch script; ./latin.sh, "
           "which the script sources, is not read: not UTF-8: byte 0xe9 cannot be decoded")
    assert [(f["rule"], f["line"], f["column"], f["message"]) for f in report["findings"]] == [
        ("RM006", 5, 20, f"launch not understood (openrlhf.cli.train_rm): {why}")]
    assert [launch["reason"] for launch in report["launches"]] == [why]
