"""A rule is its YAML file, whole: no rule id in the library's Python, reader problems worded in their
rule file, and the fix's safety declared with the rule (issue 15)."""

import re
from pathlib import Path

import pytest
import yaml

from conftest import cli
from rmlint.finding import Location
from rmlint.rules import RuleFileError, builtin, catalog_dir, validate_file

LIBRARY = Path(__file__).resolve().parent.parent / "rmlint"
RULE_ID = re.compile(r"RM\d{3}")


def rule_ids_in_python(root: Path) -> list:
    """(file:line, text) of every rule-id literal in the library's Python, comments and docstrings included."""
    return [(f"{path.relative_to(root.parent)}:{number}", line.strip())
            for path in sorted(root.rglob("*.py"))
            for number, line in enumerate(path.read_text(encoding="utf-8").splitlines(), 1) if RULE_ID.search(line)]


def test_no_rule_id_in_the_library_python():
    assert rule_ids_in_python(LIBRARY) == []


def test_the_check_sees_an_id_written_into_python(tmp_path):
    package = tmp_path / "rmlint" / "sub"
    package.mkdir(parents=True)
    (package / "mod.py").write_text('"""Fine."""\nX = 1  # like RM201 here\n')
    assert rule_ids_in_python(tmp_path / "rmlint") == [("rmlint/sub/mod.py:2", "X = 1  # like RM201 here")]


def test_every_problem_kind_belongs_to_one_rule():
    owners = {}
    for rule in builtin():
        for kind in rule.problem_kinds:
            assert kind not in owners, f"{kind} is reported by {owners[kind]} and {rule.id}"
            owners[kind] = rule.id
    readers = [r for r in builtin() if r.emitted_by in ("reader", "guard")]
    assert readers and all(r.problem_kinds for r in readers)


def test_the_fast_catalog_reads_what_yaml_reads():
    """The catalog reads what a finding shows without a YAML parser; it must read what YAML reads."""
    for rule in builtin():
        raw = yaml.safe_load(rule.source.read_text(encoding="utf-8"))
        assert rule.problem_kinds == tuple(raw.get("problems") or ()), rule.id
        assert (rule.fix_safety, rule.fix_edit) == (raw.get("fix_safety"), raw.get("fix_edit")), rule.id
        assert (rule.message, rule.fix) == (raw["message"], raw["fix"]), rule.id
        for kind, template in (raw.get("problems") or {}).items():
            assert rule.problem_message(kind) == (template or raw["message"]), (rule.id, kind)


def test_fix_safety_is_declared_in_the_rule_files():
    declared = {r.id: (r.fix_safety, r.fix_edit) for r in builtin() if r.fix_safety}
    assert declared == {"RM201": ("unsafe", "zero-stage-3-to-2"), "RM207": ("safe", "rename-unknown-key"),
                        "RM208": ("safe", "rename-ignored-key"), "RM209": ("safe", "rename-deprecated-key"),
                        "RM501": ("safe", "add-gather-on-save")}


@pytest.mark.parametrize("change, error", [
    ("fix_safety: safe\n", "fix_safety and fix_edit go together"),
    ("fix_safety: maybe\nfix_edit: rename-unknown-key\n", "fix_safety"),
    ("fix_safety: safe\nfix_edit: rewrite-everything\n", "is not an edit rmlint makes"),
    ("fix_safety: safe\nfix_edit: rename-unknown-key\n", "fix_safety and fix_edit go together, with fix_title"),
    ("fix_safety: safe\nfix_edit: rename-unknown-key\nfix_title: '`{edit.key}` renamed'\n",
     r"fix_title: `edit.key` is not a fact of the rename-unknown-key edit \(its facts: edit.path, edit.new\)"),
    ("fix_safety: safe\nfix_edit: add-gather-on-save\nfix_title: 'add {item.path}'\n",
     "fix_title: `item.path` is not a fact of the add-gather-on-save edit"),
])
def test_the_schema_checks_the_fix_declaration(tmp_path, change, error):
    source = next(catalog_dir().glob("RM101-*.yaml"))
    broken = tmp_path / source.name
    broken.write_text(source.read_text() + change)
    with pytest.raises(RuleFileError, match=error):
        validate_file(broken)


def test_explain_and_the_rules_table_show_the_fix_safety():
    page = cli("explain", "RM201").output
    assert "Automatic fix (unsafe, `rmlint check --fix --unsafe-fixes`): zero-stage-3-to-2." in page
    assert "Automatic fix (safe, `rmlint check --fix`): rename-unknown-key." in cli("explain", "RM207").output
    assert "Automatic fix" not in cli("explain", "RM101").output
    row = next(l for l in cli("rules", "--format", "markdown").output.splitlines() if l.startswith("| [RM201]"))
    assert row.split(" | ")[4] == "unsafe"


def test_a_reader_finding_and_explain_print_the_rules_own_fix_text(tmp_path):
    bad = tmp_path / "bad.json"
    bad.write_text('{"zero_optimization": {"stage": 3,}}')
    fix = yaml.safe_load(next(catalog_dir().glob("RM001-*.yaml")).read_text())["fix"]
    check = cli("check", str(bad))
    assert check.exit_code == 1 and f"  fix: {fix}" in check.output.splitlines()
    assert fix in cli("explain", "RM001").output


def test_a_reader_problem_is_worded_by_its_rule_file(tmp_path, monkeypatch):
    """The message comes from the YAML: change the template in a copy of the catalog and the finding follows."""
    import shutil
    from rmlint import problems, rules
    catalog = tmp_path / "rules"
    shutil.copytree(catalog_dir(), catalog)
    path = next(catalog.glob("RM230-*.yaml"))
    path.write_text(path.read_text().replace('message: "accelerate refuses unknown key', 'message: "REWORDED key'))
    monkeypatch.setenv("RMLINT_NO_CACHE", "1")
    monkeypatch.setattr(rules, "catalog_dir", lambda: catalog)
    rules.builtin.cache_clear()
    try:
        from rmlint.policy import Policy
        found, = Policy().complete([problems.finding("accelerate-unknown-key", Location("a.yaml", 3, 1),
                                                     key="mixed_precison", suggestion="")])
    finally:
        rules.builtin.cache_clear()
    assert (found.rule, found.line, found.message) == ("RM230", 3, 'REWORDED key `mixed_precison` ("had unknown keys")')
