"""The facts' one declaration (rmlint/fact_schema.py): the runtime shapes are generated from it, and every
reader produces facts of the declared types, over the sample configs, the upstream fixtures, the
checkpoint fixtures and the rules' own examples (a wrong type or an undeclared fact fails)."""

import json
import os
import subprocess
import sys
from functools import lru_cache

import pytest
from pydantic import ValidationError

from conftest import ROOT, SAMPLES
from rmlint import fact_schema
from rmlint.fact_schema import Subject

CHECKPOINTS = ROOT / "tests" / "fixtures" / "checkpoints"


def test_runtime_shapes_are_generated_from_the_declaration():
    assert fact_schema.RUNTIME.read_text() == fact_schema.rendered(), "run: python -m rmlint.fact_schema --write"
    assert fact_schema.CEL_TYPES.read_text() == fact_schema.rendered_cel_types(), \
        "run: python -m rmlint.fact_schema --write"


def test_a_run_does_not_import_pydantic():
    code = ("import sys; from rmlint.cli import main\n"
            "try: main(['check', sys.argv[1]])\nexcept SystemExit: pass\n"
            "print('pydantic' in sys.modules)")
    for sample in ("deepspeed-typos/ds_config.json", "seed-qlora-rm-zero3/train_rm_qlora.sh"):
        done = subprocess.run([sys.executable, "-c", code, str(SAMPLES / sample)], capture_output=True, text=True,
                              cwd=ROOT, env={**os.environ, "RMLINT_NO_CACHE": ""})
        assert done.stdout.strip().splitlines()[-1] == "False", done.stderr


def test_deepspeed_defaults_are_what_deepspeed_reads_from_an_empty_config():
    from rmlint.frameworks.deepspeed.config import normalize
    facts, _, _ = normalize({}, "")
    assert Subject().model_dump(by_alias=True)["ds"] == {**facts, "present": False}


def _files():
    for folder in (SAMPLES, ROOT / "tests" / "fixtures" / "upstream", ROOT / "tests" / "fixtures" / "deepspeed_chat",
                   ROOT / "tests" / "fixtures" / "fix"):
        for path in sorted(folder.rglob("*")):
            if path.is_file() and path.name != "MANIFEST.tsv":
                yield path


@lru_cache(maxsize=1)
def _subjects() -> tuple:
    from rmlint.frameworks.checkpoint.subjects import inspect_subject
    from rmlint.inputs import subjects_of_file
    from rmlint.examples import example_subjects
    from rmlint.rules import builtin
    found = []
    for path in _files():
        found += [(str(path.relative_to(ROOT)), s) for s in subjects_of_file(str(path), explicit=False)[0]]
    for folder in sorted(CHECKPOINTS.iterdir()):
        found.append((f"checkpoint {folder.name}", inspect_subject(str(folder))[0]))
    for rule in builtin():
        for example in rule.examples.bad + rule.examples.good:
            found += [(f"{rule.id} example", s) for s in example_subjects(example)[0]]
    return tuple(found)


def _missing(model, facts: dict, prefix: str) -> list:
    """Declared facts a block lacks (an item of a list fills only the fields of its kind)."""
    found = []
    for name, field in model.model_fields.items():
        key = field.alias or name
        if key not in facts:
            found.append(f"{prefix}{key}: missing")
        elif isinstance(field.annotation, type) and issubclass(field.annotation, fact_schema.Facts):
            found += _missing(field.annotation, facts[key], f"{prefix}{key}.")
    return found


def _problems(facts: dict) -> list:
    """Undeclared facts, facts of another type, declared facts missing: [] when the facts are as declared."""
    try:
        declared = Subject.model_validate(facts).model_dump(by_alias=True, exclude_unset=True)
    except ValidationError as err:
        return [f"{'.'.join(map(str, e['loc']))}: {e['msg']}" for e in err.errors()]
    return _missing(Subject, facts, "") + [f"{root}: read as another value" for root in facts
                                           if declared.get(root) != facts[root]]


def test_readers_produce_facts_of_the_declared_types():
    subjects = _subjects()
    assert len(subjects) > 500 and len({name for name, _ in subjects}) > 150   # every kind of input is read
    kinds = {subject.facts["input"]["kind"] for _, subject in subjects}
    assert {"deepspeed", "openrlhf", "llamafactory", "trl", "axolotl", "checkpoint"} <= kinds, kinds
    wrong = {name: problems for name, subject in subjects   # the versions a subject was read with, as lint adds them
             for problems in [_problems({**subject.facts, "versions": subject.versions})] if problems}
    assert wrong == {}


@pytest.mark.parametrize("change, expected", [
    (lambda f: f["ds"]["zero_optimization"].update(stage="3"), "ds.zero_optimization.stage: Input should be a valid integer"),
    (lambda f: f["trainer"].update(lora_rank=True), "trainer.lora_rank: Input should be a valid integer"),
    (lambda f: f["role"].update(surprise=1), "role.surprise: Extra inputs are not permitted"),
    (lambda f: f["ckpt"]["head"].pop("rows"), "ckpt.head.rows: missing"),
    (lambda f: f["launch"]["problems"].append({"kind": "stray", "flagg": "--x"}),
     "launch.problems.0.flagg: Extra inputs are not permitted"),
])
def test_a_fact_of_another_type_or_undeclared_is_caught(change, expected):
    facts = json.loads(json.dumps(Subject().model_dump(by_alias=True)))
    change(facts)
    assert expected in _problems(facts)
