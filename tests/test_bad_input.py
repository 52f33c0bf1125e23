"""Hostile and broken input: a clear finding or usage error with a location, in bounded time and
memory, never a traceback; plus property-based tests that feed the readers random input."""

import json
import os
import time

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from conftest import cli, findings_of_text, run_rmlint
from rmlint import inputs, lint_paths
from rmlint.sources import shell
from rmlint.sources.document import load_json, load_yaml
from rmlint.finding import SourceError


def only_finding(path):
    result = lint_paths([str(path)])
    assert len(result.findings) == 1, result.findings
    return result.findings[0]


def test_malformed_json(tmp_path):
    path = tmp_path / "ds.json"
    path.write_text('{\n  "zero_optimization": {"stage": 3\n}\n')
    f = only_finding(path)
    assert (f.rule, f.severity, f.line, f.column) == ("RM001", "error", 4, 1)
    assert f.message == "invalid JSON: Expecting ',' delimiter"


def test_malformed_yaml(tmp_path):
    path = tmp_path / "ds.yaml"
    path.write_text("zero_optimization:\n  stage: 3\n bf16: [\n")
    f = only_finding(path)
    assert (f.rule, f.line) == ("RM001", 3)
    assert f.message.startswith("invalid YAML:")


def test_non_utf8_bytes(tmp_path):
    path = tmp_path / "train.sh"
    path.write_bytes(b"deepspeed --module openrlhf.cli.train_rm \\\n  --pretrain caf\xe9\n")
    f = only_finding(path)
    assert (f.rule, f.line, f.column, f.message) == ("RM001", 2, 17, "not UTF-8: byte 0xe9 cannot be decoded")


def skipped(path) -> bool:
    """rmlint does not read the file: no finding, counted as skipped."""
    result = lint_paths([str(path)])
    return result.findings == [] and (result.files, result.unread) == (0, 1)


def test_binary_garbage(tmp_path):
    path = tmp_path / "weights.json"
    path.write_bytes(b"\x00\x01\x02" * 1000)
    assert skipped(path)    # names no config key: not a file rmlint reads
    path.write_bytes(b'{"zero_optimization": ' + b"\x00\x01\x02" * 1000)
    f = only_finding(path)
    assert (f.rule, f.message) == ("RM001", "binary file (NUL bytes); expected a text config or launch script")


def test_huge_file_is_refused_without_reading_it(tmp_path):
    path = tmp_path / "big.json"
    with open(path, "wb") as handle:  # a sparse 100 MB file: nothing is written to disk
        handle.seek(100 * 1024 * 1024 - 1)
        handle.write(b"}")
    started = time.perf_counter()
    assert skipped(path)    # a dataset or tokenizer, whatever its size
    with open(path, "r+b") as handle:
        handle.write(b'{"train_batch_size": 8, ')
    f = only_finding(path)
    assert time.perf_counter() - started < 1.0
    assert (f.rule, f.message) == ("RM001", "file is 104.9 MB; rmlint reads configs and scripts up to 4 MB")


def test_yaml_alias_bomb(tmp_path):
    lines = ['a0: &a0 ["x", "x", "x", "x", "x", "x", "x", "x", "x", "x"]']
    lines += [f"a{i}: &a{i} [*a{i-1}, *a{i-1}, *a{i-1}, *a{i-1}, *a{i-1}, *a{i-1}, *a{i-1}, *a{i-1}, *a{i-1}, *a{i-1}]"
              for i in range(1, 9)]
    path = tmp_path / "bomb.yaml"
    path.write_text("\n".join(lines) + "\n")
    assert skipped(path)
    path.write_text("train_batch_size: 8\n" + "\n".join(lines) + "\n")
    started = time.perf_counter()
    f = only_finding(path)
    assert time.perf_counter() - started < 5.0
    assert f.rule == "RM001" and f.message == "YAML expands to more than 200000 values (alias bomb?)"


def test_deep_nesting(tmp_path):
    path = tmp_path / "deep.json"
    path.write_text("[" * 100_000 + "]" * 100_000)
    assert skipped(path)
    path.write_text('{"fp16": ' + "[" * 100_000 + "]" * 100_000 + "}")
    f = only_finding(path)
    assert f.rule == "RM001" and "nested more than" in f.message
    path = tmp_path / "deep.yaml"
    path.write_text("bf16: true\na:\n" + "".join("  " * i + "b:\n" for i in range(1, 200)))
    f = only_finding(path)
    assert f.rule == "RM001" and f.message == "nested more than 64 levels deep"


def test_unterminated_heredoc_is_an_error_at_its_line(tmp_path):
    path = tmp_path / "train.sh"
    path.write_text("set -x\nread -r -d '' cmd <<EOF\nopenrlhf.cli.train_rm --bf16\n\ndeepspeed --module $cmd\n")
    f = only_finding(path)
    assert (f.rule, f.line, f.column) == ("RM001", 2, 19)
    assert f.message == "here-document at this line is not terminated (wanted `EOF`)"


def test_directory_of_ten_thousand_files(tmp_path):
    for i in range(10_000):
        (tmp_path / f"cfg{i}.json").write_text('{"zero_optimization": {"stage": 2}, "bf16": {"enabled": true}}')
    (tmp_path / "bad.json").write_text('{"fp16": {"enabled": true}, "bf16": {"enabled": true}}')
    started = time.perf_counter()
    result = lint_paths([str(tmp_path)])
    assert time.perf_counter() - started < 60
    assert result.files == 10_001
    assert [(f.rule, os.path.basename(f.path)) for f in result.findings] == [("RM101", "bad.json")]


def _refuse_open(monkeypatch, refused, errno_=13):
    """os.open raising EACCES for one path: unreadable even for root (CI runs as root, and a chmod 000
    file is readable there)."""
    real_open = os.open
    def fake_open(path, *args, **kwargs):
        if os.fspath(path) == os.fspath(refused):
            raise OSError(errno_, os.strerror(errno_), os.fspath(path))
        return real_open(path, *args, **kwargs)
    monkeypatch.setattr(os, "open", fake_open)


def test_unreadable_file(tmp_path, monkeypatch):
    path = tmp_path / "ds.json"
    path.write_text('{"bf16": {"enabled": true}}')
    _refuse_open(monkeypatch, path)
    result = cli("check", str(path))
    assert result.exit_code == 1
    assert result.output.startswith(f"{path}:1:1: error RM001 cannot read: Permission denied  [unreadable-input]\n")


def test_unreadable_launch_script_is_not_a_silent_pass(tmp_path, monkeypatch):
    path = tmp_path / "train.sh"
    path.write_text("deepspeed --module openrlhf.cli.train_rm --pretrain m --zero_stage 3\n")
    _refuse_open(monkeypatch, path)
    f = only_finding(path)
    assert (f.rule, f.line, f.column, f.message) == ("RM001", 1, 1, "cannot read: Permission denied")


def test_a_dangling_symlink_inside_a_folder_is_rm001(tmp_path):
    (tmp_path / "ds.json").symlink_to(tmp_path / "gone.json")
    f = only_finding(tmp_path)
    assert (f.rule, os.path.basename(f.path), f.line, f.message) == \
        ("RM001", "ds.json", 1, "cannot read: No such file or directory")


def test_a_fifo_is_refused_without_blocking(tmp_path):
    os.mkfifo(tmp_path / "ds.json")
    result = cli("check", str(tmp_path / "ds.json"))
    assert result.exit_code == 1
    assert f"{tmp_path / 'ds.json'}: error RM052 not a regular file (a FIFO); not read" in result.output


def test_a_folder_named_like_a_file_is_a_usage_error(tmp_path):
    path = tmp_path / "dir.json"
    path.mkdir()
    result = cli("check", str(path))
    assert result.exit_code == 2 and f"{path}: no file rmlint reads here" in result.output


def test_numbers_beyond_64_bits_do_not_break_rules():
    text = '{"train_batch_size": 18446744073709551616, "train_micro_batch_size_per_gpu": 3, "gradient_accumulation_steps": 1}'
    assert findings_of_text("big.json", text) == [("RM303", 1, 2)]


def test_a_script_rmlint_cannot_follow_gets_no_false_findings():
    text = 'for g in 1 2; do\n  eval "deepspeed --module openrlhf.cli.train_rm $(cat flags.txt)"\ndone\n'
    assert findings_of_text("loop.sh", text) == [("RM006", 2, 28)]    # listed as not read, no false finding


def test_cli_never_prints_a_traceback_on_garbage(tmp_path):
    (tmp_path / "a.yaml").write_bytes(os.urandom(3000).replace(b"\x00", b"x"))
    (tmp_path / "b.sh").write_text("$((((((((\n'\n\"\n<<\n")
    result = run_rmlint("check", str(tmp_path))
    assert "Traceback" not in result.stderr and result.returncode in (0, 1)


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.text(max_size=400))
def test_shell_reader_never_raises(text):
    shell.parse(text)
    inputs.subjects_of_text("fuzz.sh", text)


SHELL_PIECES = st.sampled_from(["deepspeed ", "--module ", "openrlhf.cli.train_rm ", "python3 -m openrlhf.cli.train_ppo_ray ",
                                "--zero_stage ", "3 ", "--bf16 ", "--ds.zero_stage ", "$X ", "${Y:-2} ", "\\\n", "'", '"',
                                "<<EOF\n", "EOF\n", "X=--lora_rank ", "\n", "# c\n", "$(", ")", "--load_in_4bit ",
                                "--lora_rank ", "--target_modules ", "all-linear ", "-1 ", "=", "--train_batch_size "])


@settings(max_examples=300, deadline=None)
@given(st.lists(SHELL_PIECES, max_size=40))
def test_launch_reader_never_raises_on_mutated_scripts(pieces):
    subjects, _ = inputs.subjects_of_text("fuzz.sh", "".join(pieces))
    from rmlint.lint import Result, _finish, _policy
    result = _finish(Result(), subjects, _policy())
    assert result.rule_errors == []


JSON_VALUES = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats(allow_nan=False) | st.sampled_from(["auto", "cpu", "nvme", "3"]),
    lambda inner: st.lists(inner, max_size=3) | st.dictionaries(
        st.sampled_from(["zero_optimization", "stage", "offload_param", "device", "bf16", "fp16", "enabled",
                         "train_batch_size", "optimizer", "params", "x", "stage3_gather_16bit_weights_on_model_save"]),
        inner, max_size=4),
    max_leaves=20)


@settings(max_examples=300, deadline=None)
@given(st.dictionaries(st.sampled_from(["zero_optimization", "bf16", "fp16", "train_batch_size", "optimizer",
                                        "scheduler", "gradient_clipping", "bfloat16", "typo"]), JSON_VALUES, max_size=6))
def test_deepspeed_rules_never_raise_on_odd_configs(config):
    text = json.dumps(config)
    subjects, problems = inputs.subjects_of_text("fuzz.json", text)
    from rmlint.lint import Result, _finish, _policy
    result = _finish(Result(findings=problems), subjects, _policy())
    assert result.rule_errors == []


@settings(max_examples=300, deadline=None)
@given(st.binary(max_size=300))
def test_readers_turn_any_bytes_into_findings_not_exceptions(data):
    for name in ("x.json", "x.yaml", "x.sh"):
        inputs.subjects_of_bytes(name, data)


@settings(max_examples=200, deadline=None)
@given(st.text(max_size=300))
def test_json_and_yaml_loaders_raise_only_source_errors(text):
    for load in (load_json, load_yaml):
        try:
            load(text, "fuzz")
        except SourceError as err:
            assert err.location.line >= 1


SHELL_ALPHABET = "\"'\\$`{}()[]<>|&;#*@?!% \t\n=-.:/aAbEOF0123"


def _no_hang(seconds: int):
    import signal

    def stop(*_):
        raise TimeoutError("the shell reader did not finish")
    signal.signal(signal.SIGALRM, stop)
    signal.alarm(seconds)


@settings(max_examples=1500, deadline=None)
@given(st.text(alphabet=SHELL_ALPHABET, max_size=120))
def test_shell_reader_ends_on_quote_and_escape_soup(text):
    import signal
    _no_hang(2)
    try:
        shell.parse(text)
        inputs.subjects_of_text("fuzz.sh", text)
    finally:
        signal.alarm(0)


def test_backslash_before_an_ordinary_letter_in_double_quotes(tmp_path):
    """DeepSpeedExamples' `calc() { awk "BEGIN{ printf \\"%.0f\\n\\", $* }"; }` once looped forever."""
    path = tmp_path / "run.sh"
    path.write_text('calc() { awk "BEGIN{ printf \\"%.0f\\n\\", $* }"; }\necho "a\\n"\n'
                    'deepspeed --module openrlhf.cli.train_rm --pretrain m --bf16 --zero_stage 3 --load_in_4bit --lora_rank 8\n')
    result = run_rmlint("check", "--format", "json", str(path))
    assert [f["rule"] for f in json.loads(result.stdout)["findings"]] == ["RM201", "RM601"]


@pytest.mark.parametrize("name,text", [
    # axolotl's scripts: `export` of quoted assignments once crashed the shell reader
    ("env.sh", 'A=1\nexport NCCL_SOCKET_IFNAME="^docker0,lo"\nexport B="$A" C=--zero_stage\\ 3 D=$(pwd)\nexport E\n'
               'deepspeed --module openrlhf.cli.train_rm --pretrain m --bf16 $C\n'),
    # JSON parsers accept Infinity/NaN; hypothesis found they once overflowed an int conversion
    ("ds.json", '{"train_batch_size": Infinity, "train_micro_batch_size_per_gpu": NaN,'
                ' "zero_optimization": {"stage": 2, "reduce_bucket_size": "inf"}}'),
])
def test_inputs_that_once_broke_the_readers(tmp_path, name, text):
    path = tmp_path / name
    path.write_text(text)
    result = run_rmlint("check", str(path))
    assert result.returncode in (0, 1) and "Traceback" not in result.stderr
