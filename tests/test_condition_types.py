"""Rule conditions are type-checked by CEL against each fact's declared leaf type (rmlint/fact_schema.py ->
fact_cel_types.json): a rule file loaded with validation (every built-in rule in
test_catalog, every rule pack at load) that compares an int fact with a string, reads a fact no input sets,
or gives no bool fails to load, naming file, field, place and types."""

import copy
import json
import re

import pytest

from conftest import cli
from rmlint.expr import compile_expression, evaluate
from rmlint.facts import defaults
from rmlint.rules import RuleFileError, catalog_dir, validate_file
from test_rule_packs import first_rule, pack

HINT = " (docs/facts.md gives each fact's type)"


def broken(tmp_path, stem: str, old: str, new: str):
    source = next(catalog_dir().glob(f"{stem}-*.yaml"))
    target = tmp_path / source.name
    text = source.read_text()
    assert old in text
    target.write_text(text.replace(old, new))
    return target


def when(condition: str) -> str:
    return f"when: {json.dumps(condition)}"   # a JSON string is a YAML one


def at(condition: str, operator: str) -> str:
    """CEL names the place of the operator it found no overload for: line 1, its 1-based column."""
    return f"at 1:{condition.index(operator) + 1}"


def load_error(path) -> str:
    with pytest.raises(RuleFileError) as raised:
        validate_file(path)
    return str(raised.value)


def test_an_int_fact_compared_with_a_string_fails_to_load(tmp_path):
    condition = 'ds.fp16.enabled && ds.zero_optimization.stage == "3"'
    path = broken(tmp_path, "RM101", "when: ds.fp16.enabled && ds.bf16.enabled", f"when: {condition}")
    assert load_error(path).splitlines()[0] == (
        f"{path}: when: {at(condition, '==')}: found no matching overload for '_==_' applied to '(int, string)'")


def test_what_the_check_refuses_never_fires_at_run_time():
    """Why a load error: CEL's runtime compares int 3 with "3" as unequal, so the rule above stays silent on
    every ZeRO-3 config, and a condition giving an int is no verdict at all."""
    facts = copy.deepcopy(defaults())
    facts["ds"]["zero_optimization"]["stage"] = 3
    assert evaluate(compile_expression('ds.zero_optimization.stage == "3"'), facts) is False
    assert evaluate(compile_expression("ds.zero_optimization.stage == 3"), facts) is True
    assert evaluate(compile_expression("ds.zero_optimization.stage"), facts) == 3


def test_an_item_field_is_typed_by_the_list_the_rule_walks(tmp_path):
    condition = 'item.a == "8"'
    path = broken(tmp_path, "RM310", 'when: item.check == "train-below-mini"', f"when: {condition}")
    assert load_error(path).splitlines()[0] == (
        f"{path}: when: {at(condition, '==')}: found no matching overload for '_==_' applied to '(int, string)'")
    path = broken(tmp_path, "RM310", 'when: item.check == "train-below-mini"', 'when: item.flag == "x"')
    assert "undeclared reference to 'item.flag'" in load_error(path)   # a field of launch.problems' items


def test_a_fact_that_may_be_null_compares_with_null_and_its_type_only(tmp_path):
    ok = broken(tmp_path, "RM101", "when: ds.fp16.enabled && ds.bf16.enabled",
                "when: args.zero_stage != null && args.zero_stage > 2")
    validate_file(ok)
    condition = 'args.zero_stage == "3"'
    path = broken(tmp_path, "RM101", "when: ds.fp16.enabled && ds.bf16.enabled", f"when: {condition}")
    assert load_error(path).splitlines()[0] == (
        f"{path}: when: {at(condition, '==')}: found no matching overload for '_==_' applied to '(int or null, string)'")


def test_lists_are_typed_to_their_elements(tmp_path):
    ok = broken(tmp_path, "RM101", "when: ds.fp16.enabled && ds.bf16.enabled",
                when('"score" in trainer.lora_targets && ckpt.head.shape.exists(n, n > 1)'))
    validate_file(ok)
    path = broken(tmp_path, "RM101", "when: ds.fp16.enabled && ds.bf16.enabled", "when: 1 in trainer.lora_targets")
    assert load_error(path).splitlines()[0] == (
        f"{path}: when: {at('1 in trainer.lora_targets', 'in')}: found no matching overload for '@in' applied to '(int, list(string))'")


def test_a_condition_that_gives_no_bool_fails_to_load(tmp_path):
    path = broken(tmp_path, "RM101", "when: ds.fp16.enabled && ds.bf16.enabled", "when: ds.zero_optimization.stage")
    assert load_error(path) == f"{path}: when: gives int, not bool{HINT}"
    path = broken(tmp_path, "RM310", "for_each: trainer.checks", "for_each: trainer.lora_rank")
    assert load_error(path) == f"{path}: for_each: gives int, not list{HINT}"


def test_a_block_is_not_a_value(tmp_path):
    path = broken(tmp_path, "RM101", "when: ds.fp16.enabled && ds.bf16.enabled", "when: ds.fp16 == true")
    assert "undeclared reference to 'ds.fp16'" in load_error(path)


def test_free_keys_stay_free(tmp_path):
    """ds.optimizer.params holds the optimizer's parameters as written: any key, any type."""
    ok = broken(tmp_path, "RM101", "when: ds.fp16.enabled && ds.bf16.enabled",
                when('"lr" in ds.optimizer.params && ds.optimizer.params.lr > 0.1'))
    validate_file(ok)


def test_a_rule_pack_with_a_mistyped_condition_exits_2(tmp_path, monkeypatch):
    file_name, text = first_rule()
    pack(tmp_path, {file_name: text.replace("args.zero_stage != 2", 'args.zero_stage != "2"')})
    monkeypatch.chdir(tmp_path)
    result = cli("check", "train.sh")
    assert result.exit_code == 2
    condition = re.search(r"^when: (.*)$", text, re.M).group(1).replace("!= 2", '!= "2"')
    assert (f"rule pack: {tmp_path}/lint/{file_name}: when: {at(condition, '!=')}: found no matching overload for '_!=_' "
            "applied to '(int or null, string)'") in result.output


def test_has_of_a_declared_fact_checks_as_true(tmp_path):
    """Every subject carries every declared fact, so has() of one holds; CEL's checker would type it as the fact."""
    condition = "has(args.zero_stage) && args.zero_stage == 3 && has(item.a) && item.a > 1"
    validate_file(broken(tmp_path, "RM310", 'when: item.check == "train-below-mini"', f"when: {condition}"))
    facts = copy.deepcopy(defaults())
    assert evaluate(compile_expression("has(args.zero_stage) && has(ds.zero_optimization.stage)"), facts) is True
    condition = 'has(args.zero_stage) && args.zero_stage == "3"'   # the place after has() is the written one
    path = broken(tmp_path, "RM101", "when: ds.fp16.enabled && ds.bf16.enabled", f"when: {condition}")
    assert load_error(path).splitlines()[0] == (
        f"{path}: when: {at(condition, '==')}: found no matching overload for '_==_' applied to '(int or null, string)'")
