"""Rule packs people can write: facts checked at load (closest fact named), files that are not rules
refused, every problem reported at once, `explain` for pack rules, the README's first rule runs."""

import re

import pytest

from conftest import ROOT, cli
from rmlint.fact_paths import problem, shapes
from rmlint.rules import builtin

FIRST_RULE = re.search(r"### Write your first rule.*?```yaml\n(.*?)```", (ROOT / "README.md").read_text(), re.S)


def pack(tmp_path, files: dict):
    (tmp_path / "pyproject.toml").write_text('[tool.rmlint]\nrule-packs = ["lint"]\n')
    (tmp_path / "lint").mkdir()
    for name, text in files.items():
        (tmp_path / "lint" / name).write_text(text)
    (tmp_path / "train.sh").write_text("deepspeed --module openrlhf.cli.train_rm --pretrain m --bf16 --zero_stage 3\n")


def first_rule() -> tuple:
    text = FIRST_RULE.group(1)
    rule_id, name = re.search(r"^id: (\S+)", text, re.M).group(1), re.search(r"^name: (\S+)", text, re.M).group(1)
    return f"{rule_id}-{name}.yaml", text


def test_readme_first_rule_runs(tmp_path, monkeypatch):
    file_name, text = first_rule()
    pack(tmp_path, {file_name: text})
    monkeypatch.chdir(tmp_path)
    result = cli("check", "train.sh")
    assert result.exit_code == 1, result.output
    assert result.output.startswith("train.sh:1:62: error RM901 our cluster trains reward models with ZeRO-2, "
                                    "not ZeRO-3  [team-reward-models-use-zero2]")
    import yaml
    assert yaml.safe_load(text)["examples"]["bad"][0]["expect"] == [   # what the example itself pins
        {"at": "1:62", "message": "our cluster trains reward models with ZeRO-2, not ZeRO-3"}]
    assert cli("check", "train.sh", "--ignore", "RM901").exit_code == 0
    page = cli("explain", "RM901")
    assert page.exit_code == 0 and page.output.startswith("# RM901 team-reward-models-use-zero2 (error)")


def test_a_misspelt_fact_fails_to_load_naming_the_closest(tmp_path, monkeypatch):
    file_name, text = first_rule()
    pack(tmp_path, {file_name: text.replace("args.zero_stage != 2", "args.zero_stag != 2")})
    monkeypatch.chdir(tmp_path)
    result = cli("check", "train.sh")
    assert result.exit_code == 2
    assert (f"rule pack: {tmp_path}/lint/{file_name}: when: unknown fact `args.zero_stag`; "
            "did you mean `args.zero_stage`?") in result.output


def test_every_problem_of_a_pack_at_once(tmp_path, monkeypatch):
    file_name, text = first_rule()
    pack(tmp_path, {file_name: text.replace("severity: error", "severity: loud").replace("at: [args.zero_stage]",
                                                                                        "at: [args.zerostage]"),
                    "RM902-uses-unknown.yaml": text.replace("RM901", "RM902").replace(
                        "team-reward-models-use-zero2", "uses-unknown").replace("args.zero_stage != 2",
                                                                                "has(args.learning_rate)"),
                    "notes.md": "our rules\n"})
    monkeypatch.chdir(tmp_path)
    result = cli("check", "train.sh")
    assert result.exit_code == 2
    lint = tmp_path / "lint"
    assert result.output.splitlines()[-3:] == [
        f"Error: rule pack: {lint}/RM901-team-reward-models-use-zero2.yaml: severity: Input should be 'error', 'warning' or 'info'",
        f"rule pack: {lint}/RM902-uses-unknown.yaml: when: unknown fact `args.learning_rate` (docs/facts.md lists the facts)",
        f"rule pack: {lint}/notes.md: not a rule file (a rule pack holds only rule files named RMnnn-name.yaml)"]
    (lint / "RM901-team-reward-models-use-zero2.yaml").write_text(text.replace("at: [args.zero_stage]", "at: [args.zerostage]"))
    (lint / "notes.md").unlink()
    (lint / "RM902-uses-unknown.yaml").unlink()
    assert f"{lint}/RM901-team-reward-models-use-zero2.yaml: at: unknown fact `args.zerostage`; did you mean " \
           "`args.zero_stage`?" in cli("check", "train.sh").output


def test_builtin_rules_read_only_facts_that_exist():
    reads = {(rule.id, fact) for rule in builtin()
             for fact in rule.needs + [a for a in rule.at if a != "item"]}
    assert [(rule_id, fact, problem(fact)) for rule_id, fact in sorted(reads) if problem(fact) is not None] == []


@pytest.mark.parametrize("fact, closest", [("args.zero_stage", None), ("role.path.matches", None),
                                           ("ds.optimizer.params.max_grad_norm", None), ("ckpt.other_heads.size", None),
                                           ("args.zero_stag", "args.zero_stage"), ("ds.zero_optimisation.stage",
                                                                                   "ds.zero_optimization.stage"),
                                           ("args.learning_rate", "")])
def test_fact_paths(fact, closest):
    assert problem(fact) == closest


def test_explain_suggests_the_closest_rule():
    result = cli("explain", "qlora-with-zero-3")
    assert result.exit_code == 2 and "no rule 'qlora-with-zero-3'; did you mean `qlora-with-zero3`?" in result.output
    assert "args.zero_stage" in shapes()


def test_facts_reference_is_generated_and_covers_every_fact():
    from rmlint.fact_docs import markdown, meaning
    assert (ROOT / "docs" / "facts.md").read_text() == markdown(), "run: rmlint facts --format markdown > docs/facts.md"
    assert [path for path in shapes() if not meaning(path)] == []
    assert "| `args.zero_stage` | int or null | `0` | `3` | ZeRO stage (`--zero_stage`). |" in markdown()
