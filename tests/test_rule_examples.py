"""Every rule file's examples are tests: each bad example must raise that rule at the place and with the
words its `expect` gives (line:col within the example, or `file` for a finding about the whole file or
folder), and no good example may raise it."""

import re

import pytest

from conftest import FIXTURES, ROOT
from lint_examples import lint_example
from rmlint.examples import checkout, placeholders
from rmlint.rules import builtin

PLACEHOLDERS = placeholders()   # {fixtures}, then {root}: the first lies inside the second
# The folders an example is materialised in are temporary; `expect` writes them as {tmp}.
TEMPORARY = re.compile(r"[^\s`'\"(]*rmlint-(?:guard-)?example-[A-Za-z0-9_]+")

CASES = [(rule.id, kind, number, example)
         for rule in builtin() for kind in ("bad", "good")
         for number, example in enumerate(getattr(rule.examples, kind))]


def test_placeholders_name_this_checkout_and_its_checkpoint_fixtures():
    """What `{root}` and `{fixtures}` stand for, for rmlint facts and for these tests alike."""
    assert PLACEHOLDERS == {"{fixtures}": str(FIXTURES), "{root}": str(ROOT)} and checkout() == str(ROOT)
    assert (FIXTURES / "base_sft").is_dir()


def written_as_in_the_rule_file(message: str) -> str:
    for placeholder, path in PLACEHOLDERS.items():
        message = message.replace(path, placeholder)
    return TEMPORARY.sub("{tmp}", message)


def place(finding, example: dict) -> str:
    """line:col as written in the rule file: a column after a `{fixtures}` or `{root}` placeholder is
    counted in the placeholder's text, not in this checkout's path (which differs from machine to machine)."""
    if finding.line == 0:
        return "file"
    template = example.get("argv") or (example.get("file") or {}).get("text")
    own = finding.path in ("<example>.sh", (example.get("file") or {}).get("name"))
    if not template or not own:
        return f"{finding.line}:{finding.column}"
    line = template.split("\n")[finding.line - 1]
    return f"{finding.line}:{_template_column(line, finding.column)}"


def _template_column(line: str, column: int) -> int:
    values = PLACEHOLDERS
    expanded, index = 0, 0
    while index < len(line):
        placeholder = next((p for p in values if line.startswith(p, index)), None)
        width = len(values[placeholder]) if placeholder else 1
        if column - 1 < expanded + width:
            return index + 1
        expanded, index = expanded + width, index + (len(placeholder) if placeholder else 1)
    return index + 1 + (column - 1 - expanded)


@pytest.mark.parametrize("rule_id,kind,number,example", CASES,
                         ids=[f"{r}-{k}{n}" for r, k, n, _ in CASES])
def test_example(rule_id, kind, number, example):
    result = lint_example(example)
    assert result.rule_errors == []
    hits = [f for f in result.findings if f.rule == rule_id]
    if kind == "bad":
        assert example.get("expect"), f"{rule_id} bad example {number} gives no `expect` (at and message)"
        found = sorted(({"at": place(f, example), "message": written_as_in_the_rule_file(f.message)} for f in hits),
                       key=lambda hit: (hit["at"], hit["message"]))
        expected = sorted(example["expect"], key=lambda hit: (hit["at"], hit["message"]))
        assert found == expected
    else:
        assert not hits, f"{rule_id} good example {number} raised: {[f.message for f in hits]}"


def test_an_example_that_moves_or_rewords_its_finding_fails():
    """The comparison above is exact: a finding one column off, or with two numbers swapped, is not
    what the rule file says (RM302's example: batch 30, micro batch 4, at `--train_batch_size`)."""
    rule = next(r for r in builtin() if r.id == "RM302")
    example = rule.examples.bad[0]
    finding = next(f for f in lint_example(example).findings if f.rule == "RM302")
    assert example["argv"][finding.column - 1:].startswith("--train_batch_size 30")
    assert example["expect"] == [{"at": "1:62",
                                  "message": "train batch 30 is not a multiple of micro batch 4, on any number of GPUs"}]
