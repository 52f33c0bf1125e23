"""Settings files, the command line on top of them, rule packs, per-file ignores, severities."""

import json
import textwrap

import pytest

from conftest import cli

QLORA = "deepspeed --module openrlhf.cli.train_rm --pretrain m --bf16 --zero_stage 3 --lora_rank 8 --load_in_4bit --target_modules q_proj\n"


def project(tmp_path, settings: str | None, name="pyproject.toml", script=QLORA):
    if settings is not None:
        (tmp_path / name).write_text(textwrap.dedent(settings))
    (tmp_path / "scripts").mkdir()
    (tmp_path / "scripts" / "train.sh").write_text(script)
    return tmp_path


def rules_found(*args):
    result = cli("check", "--format", "json", *args)
    return result.exit_code, [(f["rule"], f["severity"]) for f in json.loads(result.output)["findings"]]


def test_pyproject_ignore_and_severity(tmp_path, monkeypatch):
    project(tmp_path, """
        [tool.rmlint]
        ignore = ["RM201", "lora-freezes-value-head"]
        [tool.rmlint.severity]
        RM103 = "error"
    """)
    monkeypatch.chdir(tmp_path)
    assert rules_found("scripts") == (0, [])
    monkeypatch.chdir(tmp_path / "scripts")   # found from a subfolder too, as ruff finds it
    assert rules_found("train.sh") == (0, [])


def test_rmlint_yaml_wins_in_its_folder_and_strict_fails_on_warnings(tmp_path, monkeypatch):
    project(tmp_path, "strict: true\n", name=".rmlint.yaml", script="")
    (tmp_path / "scripts" / "ds.json").write_text('{"train_batch_size": 8, "zero_optimisation": {"stage": 2}}')
    monkeypatch.chdir(tmp_path)
    assert rules_found("scripts") == (1, [("RM208", "warning")])
    (tmp_path / ".rmlint.yaml").write_text("strict: false\n")
    assert rules_found("scripts") == (0, [("RM208", "warning")])


def test_command_line_select_replaces_and_extend_select_adds(tmp_path, monkeypatch):
    project(tmp_path, '[tool.rmlint]\nselect = ["RM6"]\n')
    monkeypatch.chdir(tmp_path)
    assert rules_found("scripts") == (1, [("RM602", "error")])
    assert rules_found("scripts", "--extend-select", "RM201") == (1, [("RM201", "error"), ("RM602", "error")])
    assert rules_found("scripts", "--select", "RM2") == (1, [("RM201", "error")])


def test_per_file_ignores(tmp_path, monkeypatch):
    project(tmp_path, """
        [tool.rmlint.per-file-ignores]
        "scripts/*.sh" = ["qlora-with-zero3"]
        "train.sh" = ["RM602"]
    """)
    monkeypatch.chdir(tmp_path)
    assert rules_found("scripts") == (0, [])


def test_unknown_setting_is_an_error_with_a_suggestion(tmp_path, monkeypatch):
    project(tmp_path, '[tool.rmlint]\nselct = ["RM2"]\n')
    monkeypatch.chdir(tmp_path)
    result = cli("check", "scripts")
    assert result.exit_code == 2
    assert result.output == f"Error: {tmp_path}/pyproject.toml [tool.rmlint]: unknown setting `selct`; did you mean `select`?\n"


@pytest.mark.parametrize("settings,message", [
    ('[tool.rmlint]\nstrict = "yes"\n', "`strict` must be true or false"),
    ('[tool.rmlint.severity]\nRM201 = "fatal"\n', "severity of `RM201` must be one of error, warning, info, not 'fatal'"),
    ('[tool.rmlint]\nignore = ["RM2O1"]\n', "ignore: unknown rule selector `RM2O1`"),
    ('[tool.rmlint]\nrule-packs = ["nowhere"]\n', "rule pack folder"),
    ('[tool.rmlint\n', "cannot read"),
])
def test_bad_settings_exit_2(tmp_path, monkeypatch, settings, message):
    project(tmp_path, settings)
    monkeypatch.chdir(tmp_path)
    result = cli("check", "scripts")
    assert result.exit_code == 2 and message in result.output


def test_explicit_config_and_show_settings(tmp_path, monkeypatch):
    project(tmp_path, None)
    (tmp_path / "other.yaml").write_text("ignore: [RM201]\nper-file-ignores:\n  '*.sh': [RM602]\n")
    monkeypatch.chdir(tmp_path)
    assert rules_found("scripts", "--config", "other.yaml") == (0, [])
    shown = json.loads(cli("check", "--config", "other.yaml", "--show-settings", "scripts").output)
    assert shown["source"] == "other.yaml" and shown["ignore"] == ["RM201"]
    assert shown["per-file-ignores"] == {"*.sh": ["RM602"]} and "RM201" not in shown["rules"] and "RM202" in shown["rules"]
    assert cli("check", "--config", "missing.toml", "scripts").exit_code == 2


RULE = """\
id: RM901
name: team-requires-zero2
severity: warning
scope: [openrlhf]
summary: Our cluster runs reward models with ZeRO-2 only
when: role.kind == "rm_train" && args.zero_stage != 2
at: [args.zero_stage]
message: "team policy: train_rm with ZeRO-{args.zero_stage}"
why: The shared cluster's NCCL setup is tested with ZeRO-2.
fix: Use ZeRO-2.
references:
  - https://example.org/cluster-policy
examples:
  bad:
    - argv: deepspeed --module openrlhf.cli.train_rm --pretrain m --bf16 --zero_stage 3
  good:
    - argv: deepspeed --module openrlhf.cli.train_rm --pretrain m --bf16 --zero_stage 2
"""


def test_rule_pack_rules_run_and_can_be_selected(tmp_path, monkeypatch):
    project(tmp_path, '[tool.rmlint]\nrule-packs = ["lint"]\n')
    (tmp_path / "lint").mkdir()
    (tmp_path / "lint" / "RM901-team-requires-zero2.yaml").write_text(RULE)
    monkeypatch.chdir(tmp_path)
    assert rules_found("scripts", "--select", "team-requires-zero2") == (0, [("RM901", "warning")])
    text = cli("check", "scripts", "--select", "RM901").output
    assert text.startswith("scripts/train.sh:1:62: warning RM901 team policy: train_rm with ZeRO-3  [team-requires-zero2]")


def test_a_wrong_user_rule_names_file_and_field(tmp_path, monkeypatch):
    project(tmp_path, '[tool.rmlint]\nrule-packs = ["lint"]\n')
    (tmp_path / "lint").mkdir()
    (tmp_path / "lint" / "RM901-team-requires-zero2.yaml").write_text(RULE.replace("severity: warning", "severity: loud"))
    monkeypatch.chdir(tmp_path)
    result = cli("check", "scripts")
    assert result.exit_code == 2
    assert f"{tmp_path}/lint/RM901-team-requires-zero2.yaml: severity: Input should be 'error', 'warning' or 'info'" \
        in result.output
    (tmp_path / "lint" / "RM901-team-requires-zero2.yaml").write_text(RULE.replace("args.zero_stage != 2", "args.zero_stage !="))
    assert "RM901-team-requires-zero2.yaml: when:" in cli("check", "scripts").output
    (tmp_path / "lint" / "RM201-qlora-with-zero3.yaml").write_text(RULE.replace("RM901", "RM201").replace(
        "team-requires-zero2", "qlora-with-zero3"))
    (tmp_path / "lint" / "RM901-team-requires-zero2.yaml").unlink()
    assert "RM201 is already used by" in cli("check", "scripts").output


def test_severity_override_changes_level_and_exit_code(tmp_path, monkeypatch):
    project(tmp_path, '[tool.rmlint.severity]\nignored-deepspeed-key = "error"\n', script="")
    (tmp_path / "scripts" / "ds.json").write_text('{"train_batch_size": 8, "zero_optimisation": {"stage": 2}}')
    monkeypatch.chdir(tmp_path)
    assert rules_found("scripts") == (1, [("RM208", "error")])
