"""Every rule file's examples are tests: each bad example must raise that rule, no good one may."""

import pytest

from lint_examples import lint_example
from rmlint.rules import builtin

CASES = [(rule.id, kind, number, example)
         for rule in builtin() for kind in ("bad", "good")
         for number, example in enumerate(getattr(rule.examples, kind))]


@pytest.mark.parametrize("rule_id,kind,number,example", CASES,
                         ids=[f"{r}-{k}{n}" for r, k, n, _ in CASES])
def test_example(rule_id, kind, number, example):
    result = lint_example(example)
    assert result.rule_errors == []
    hits = [f for f in result.findings if f.rule == rule_id]
    if kind == "bad":
        assert hits, f"{rule_id} bad example {number} raised nothing: {[f.rule for f in result.findings]}"
        for finding in hits:
            assert "<missing" not in finding.message and "{" not in finding.message, finding.message
    else:
        assert not hits, f"{rule_id} good example {number} raised: {[f.message for f in hits]}"
