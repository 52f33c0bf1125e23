"""Meta-tests over the rule catalog, like kube-linter's well-formedness checks."""

import re
import zipfile
from pathlib import Path

import pytest

from rmlint.expr import evaluate
from rmlint.facts import defaults
from rmlint.rules import RuleFileError, builtin, catalog_dir, validate_file

RULE_FILES = sorted(catalog_dir().glob("RM*.yaml"))


def test_catalog_has_the_rules_the_core_issue_asks_for():
    assert len(builtin()) >= 25
    names = {r.name for r in builtin()}
    for required in ("qlora-with-zero3", "4bit-without-lora", "lora-wraps-value-head", "lora-freezes-value-head",
                     "init-value-head-on-reward-model", "critic-path-alias-of-actor", "target-modules-all-linear-list",
                     "mixed-cli-generations", "unknown-flag", "4bit-without-bf16", "batch-does-not-divide",
                     "packing-without-vllm", "ring-attention-without-packing", "normalize-reward-with-remote-rm",
                     "fp16-and-bf16-enabled", "offload-param-below-zero3", "auto-outside-hf-trainer",
                     "unknown-deepspeed-key", "ignored-deepspeed-key", "deprecated-deepspeed-key",
                     "zero3-save-without-gather"):
        assert required in names


@pytest.mark.parametrize("path", RULE_FILES, ids=[p.stem for p in RULE_FILES])
def test_rule_file_passes_the_schema(path):
    rule = validate_file(path)
    assert path.stem == f"{rule.id}-{rule.name}"
    assert rule.examples.bad and rule.examples.good
    assert all(ref.startswith("https://") for ref in rule.references)


def test_ids_and_names_are_unique():
    ids = [r.id for r in builtin()]
    names = [r.name for r in builtin()]
    assert len(ids) == len(set(ids)) and len(names) == len(set(names))


@pytest.mark.parametrize("rule", builtin(), ids=[r.id for r in builtin()])
def test_condition_evaluates_on_default_facts(rule):
    facts = defaults()
    value = evaluate(rule.condition, {**facts, "item": {"kind": "", "filled_by": "", "key": "", "check": "",
                                                  "suggestion": "", "known_in": "", "elsewhere": False}})
    assert isinstance(value, bool)
    if rule.items is not None:
        assert isinstance(evaluate(rule.items, facts), list)


def test_a_broken_rule_file_names_file_and_field(tmp_path):
    source = next(p for p in RULE_FILES if p.stem.startswith("RM101"))
    broken = tmp_path / source.name
    broken.write_text(source.read_text().replace("severity: error", "severity: fatal"))
    with pytest.raises(RuleFileError, match=r"RM101-fp16-and-bf16-enabled.yaml: severity"):
        validate_file(broken)
    broken.write_text(source.read_text().replace("when: ds.fp16.enabled", "when: ds.fp16.enabled &&"))
    with pytest.raises(RuleFileError, match=r"when:"):
        validate_file(broken)


def test_role_facts_have_the_declared_shape():
    from rmlint.fact_schema import Role as Declared
    from rmlint.frameworks.openrlhf.roles import Role, facts
    built = facts(Role("", False, None, None, False, False, 0, False, 0, None), defaults()["args"])
    assert Declared.model_validate(built).model_dump(by_alias=True) == built


def test_wheel_ships_the_rules(tmp_path):
    import subprocess
    import sys
    root = Path(__file__).resolve().parent.parent
    subprocess.run([sys.executable, "-m", "pip", "wheel", "--no-deps", "--no-build-isolation", "-w", str(tmp_path),
                    str(root)], check=True, capture_output=True)
    wheel = next(tmp_path.glob("rmlint-*.whl"))
    names = zipfile.ZipFile(wheel).namelist()
    shipped = sorted(n.split("/")[-1] for n in names if re.match(r"rmlint/rules/RM\d{3}-.*\.yaml$", n))
    assert shipped == [p.name for p in RULE_FILES]
    assert "rmlint/data/openrlhf_flags.json" in names and "rmlint/data/deepspeed_schema.json" in names
    assert "rmlint/fact_shapes.json" in names     # every run reads the facts' declared shapes
    assert "rmlint/fact_cel_types.json" in names  # rule packs are type-checked against them
